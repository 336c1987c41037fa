// A run's configuration: YAML -> typed, validated structs. Every key is known (an unknown key is an
// error naming it), every value is checked for type and range, and every path for existence, before
// anything is written to disk. The resolved config (defaults filled in) is saved in the run directory.
// The sections every run has are typed here; the objective and the target are components, each
// parsing, validating and writing back its own section (objective/registry.h, target/registry.h).
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace tilt {

// An isotropic Gaussian mixture sum_k w_k N(mu_k, s_k^2 I). Given either by `preset` (gmm25: the
// 5x5 grid {-10..10}^2 with variance 0.3; gmm9: the RTB paper's 9-mode posterior) or explicitly.
struct MixtureConfig {
  std::vector<std::vector<double>> means;  // K x D
  std::vector<double> weights;             // K, normalised to sum 1
  std::vector<double> variances;           // K
  int dim() const { return static_cast<int>(means.front().size()); }
};

class ConfigSection;
// Applies one `--set key.path=value` (the value parsed as YAML) to a config tree; a component given by
// its kind alone (`objective: tb`) opens into a section.
void apply_override(YAML::Node& root, const std::string& assignment);
// Reads a mixture section (`preset: gmm25` or means/weights/variance) and writes one back explicitly.
MixtureConfig read_mixture(ConfigSection& section);
inline MixtureConfig read_mixture(ConfigSection&& section) { return read_mixture(section); }
YAML::Node emit_mixture(const MixtureConfig& mixture);

// What a task gives the objective to learn from: an unnormalised density to sample (sampler), a
// prior and a reward whose posterior to sample (posterior), or samples of a distribution (data).
enum class Task { kSampler, kPosterior, kData };

// A component chosen by `kind`, with its options resolved by the component: validated, every default
// written out.
struct ComponentConfig {
  std::string kind;
  YAML::Node options;
};

struct ProcessConfig {
  int steps = 100;      // T, Euler-Maruyama steps on [0, 1]
  double sigma2 = 5.0;  // diffusion rate of the pinned Brownian reference ("t_scale")
};

// The Langevin parametrisation of the drift (Sendera et al. eq. 14):
//   u = clip(NN1(x, t) + NN2(t) clip(grad log R(x), +-gradient_clip), +-drift_clip).
struct LangevinConfig {
  double gradient_clip = 1e2;
  double drift_clip = 1e4;
};

// A learned correction of the backward kernel (model/learned_backward.h); sampler objectives only.
struct LearnedBackwardConfig {
  double scale_range = 0.5;  // factors 1 + scale_range tanh(.) on the bridge's shrink and variance; in (0, 1)
};

// The gfn-diffusion "PIS architecture" drift network.
struct NetworkConfig {
  int hidden = 64;            // width of every hidden layer
  int fourier_features = 64;  // time frequencies, linspace(0.1, 100)
  int layers = 2;             // hidden 64x64 layers of the joint network
  std::optional<LangevinConfig> langevin;
  // If set, the policy learns a per-dimension log-variance factor in [-range, range] on top of the
  // process's variance (gfn-diffusion's learned_variance, log_var_range 4); unset: fixed variance.
  std::optional<double> log_variance_range;
  // If set, a second network of the same sizes learns the backward kernel (sampler objectives).
  std::optional<LearnedBackwardConfig> learned_backward;
  // Posterior tasks: classifier guidance with this scale in place of a learned correction
  // (model/guidance_drift.h); the network sizes are then unused.
  std::optional<double> guidance;
  // `engine: fused` (default): the network and the forward rollout run tilt's fused CPU kernels
  // (kernels/) where they have them; `libtorch`: LibTorch operations throughout (the reference path).
  // The same maths either way: a run may resume under the other engine.
  bool fused = true;
};

struct PriorConfig {
  enum class Kind { kExact, kNeural } kind = Kind::kExact;
  MixtureConfig mixture;          // kExact: the prior's marginal at t = 1
  std::filesystem::path run_dir;  // kNeural: a finished `objective: mle` run
};

struct RewardConfig {
  enum class Kind { kGaussianLikelihood, kMixtureRatio, kTorchScript } kind = Kind::kGaussianLikelihood;
  // Gaussian likelihood N(y; A x, s^2 I).
  std::vector<std::vector<double>> a;  // m x D
  std::vector<double> y;               // m
  double noise_variance = 1.0;         // s^2
  // Mixture ratio r(x) = numerator(x) / prior mixture(x).
  MixtureConfig numerator;
  // A TorchScript module x [B, D] -> log r [B] (target/torchscript.h); no exact posterior.
  std::filesystem::path file;
  double beta = 1.0;  // the target is the tempered reward r^beta
};

struct ExplorationConfig {
  double std = 0.0;     // extra per-step noise std epsilon (added to the variance in quadrature)
  int hold = 0;         // iterations at full epsilon
  int decay_until = 0;  // epsilon decays linearly to 0 at this iteration (default: train.iterations)
};

// Every learning rate (network, log Z, flows) times a factor that falls linearly from 1 at iteration
// `start` to `final_fraction` at the last iteration: the late, on-policy phase of training averages
// out gradient noise instead of riding it. A start at or after the last iteration changes nothing
// (a shortened run, e.g. a smoke test of a shipped config, keeps its config valid).
struct LearningRateDecay {
  int start = 0;
  double final_fraction = 0.1;
};

struct TrainConfig {
  int iterations = 1000;
  int batch = 300;   // global batch, split across ranks
  double lr = 1e-3;  // Adam, network parameters
  std::optional<LearningRateDecay> lr_decay;
  // The factor on every learning rate at `iteration` (1 without lr_decay).
  double lr_scale(int iteration) const;
  ExplorationConfig exploration;  // forward rollouts (every source but data)
  int score_chunk_steps = 0;      // 0: score all T steps in one autograd pass
  int checkpoint_every = 500;
  int log_every = 50;
};

struct EvalConfig {
  int samples = 4000;
  std::optional<std::vector<double>> plot_box;  // x_min, x_max, y_min, y_max; default from the data
};

struct Config {
  ComponentConfig objective;
  uint64_t seed = 0;
  ProcessConfig process;
  NetworkConfig network;
  ComponentConfig target;  // sampler and data tasks
  ComponentConfig source;  // where training batches come from
  PriorConfig prior;       // posterior tasks
  RewardConfig reward;     // posterior tasks
  TrainConfig train;
  EvalConfig eval;

  Task task() const;  // the objective's
  int dim() const;
  const std::string& objective_name() const { return objective.kind; }
};

// A config file's text; an Error naming the file when it cannot be read.
std::string read_config_text(const std::filesystem::path& path);
// `parse(text)` of the file's text, any error prefixed with the file's name.
template <typename Parse>
auto parse_config_file(const std::filesystem::path& path, const Parse& parse) {
  const std::string text = read_config_text(path);
  try {
    return parse(text);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}
// The config text as a YAML root (a map; an empty text is an empty map) with `overrides`
// ("dotted.key=yaml-value") applied; one-line errors.
YAML::Node config_root(const std::string& yaml_text, const std::vector<std::string>& overrides);
// The file's top-level `method` (dxmi, mdm; empty for a sampler job's config, and for a file that
// does not parse: its loader reports what is wrong).
std::string config_method(const std::filesystem::path& path);
// Loads `path`, applies `overrides` ("dotted.key=yaml-value"), validates. Throws tilt::Error with
// one line naming the offending key or path. Relative paths inside the config resolve against
// `base_dir` (the config file's directory).
Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
Config parse_config(const std::string& yaml_text, const std::vector<std::string>& overrides,
                    const std::filesystem::path& base_dir);
// The resolved config as YAML, every default written out; parse_config(to_yaml(c)) == c.
std::string to_yaml(const Config& config);

}  // namespace tilt
