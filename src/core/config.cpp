#include "core/config.h"

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/config_section.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/run_files.h"
#include "objective/registry.h"
#include "source/registry.h"
#include "target/registry.h"
#include "target/torchscript.h"

namespace tilt {

ConfigSection::ConfigSection(YAML::Node node, std::string path, std::filesystem::path base_dir)
    : node_(std::move(node)), path_(std::move(path)), base_dir_(std::move(base_dir)) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) config_fail(path_, "expected a mapping of keys");
}

std::filesystem::path ConfigSection::require_existing_path(const std::string& key) {
  std::filesystem::path path = require<std::string>(key);
  if (path.is_relative()) path = base_dir_ / path;
  path = std::filesystem::absolute(path).lexically_normal();
  if (!std::filesystem::exists(path)) config_fail(key_path(key), "no file '" + path.string() + "'");
  return path;
}

void ConfigSection::finish() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& entry : node_) {
    const auto key = entry.first.as<std::string>();
    // A key set to null is absent (`--set prior=null` removes a section).
    if (!used_.count(key) && !entry.second.IsNull()) config_fail(key_path(key), "unknown key");
  }
}

void require_positive(double value, const std::string& key) {
  if (!(value > 0) || !std::isfinite(value))
    config_fail(key, "must be a positive number, got " + std::to_string(value));
}

void require_at_least(long long value, long long minimum, const std::string& key) {
  if (value < minimum)
    config_fail(key, "must be >= " + std::to_string(minimum) + ", got " + std::to_string(value));
}

void require_in_range(double value, double low, double high, const std::string& key) {
  if (!(value >= low && value <= high))
    config_fail(key, "must be in [" + yaml_number(low).as<std::string>() + ", " +
                         yaml_number(high).as<std::string>() + "], got " + std::to_string(value));
}

YAML::Node yaml_number(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  std::string text(buffer, end);
  const size_t exponent = text.find('e');
  if (exponent != std::string::npos && text.find('.') == std::string::npos) text.insert(exponent, ".0");
  return YAML::Node(text);
}

YAML::Node yaml_flow(const std::vector<double>& values) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (double value : values) node.push_back(yaml_number(value));
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

YAML::Node yaml_flow(const std::vector<std::vector<double>>& rows) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& row : rows) node.push_back(yaml_flow(row));
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

namespace {

MixtureConfig preset_mixture(const std::string& name, const std::string& key) {
  MixtureConfig mixture;
  if (name == "gmm25") {
    for (double a : {-10.0, -5.0, 0.0, 5.0, 10.0})
      for (double b : {-10.0, -5.0, 0.0, 5.0, 10.0}) mixture.means.push_back({a, b});
    mixture.weights.assign(25, 1.0 / 25);
    mixture.variances.assign(25, 0.3);
  } else if (name == "gmm9") {
    // The RTB paper's posterior for the 25 -> 9 task (rtb_diffusion, variance 0.3 as in the code).
    mixture.means = {{-10, -5}, {-5, -10}, {-5, 0}, {10, -5}, {0, 0}, {0, 5}, {5, -5}, {5, 0}, {5, 10}};
    for (double w : {4, 10, 4, 5, 10, 5, 4, 15, 4}) mixture.weights.push_back(w / 61.0);
    mixture.variances.assign(9, 0.3);
  } else if (name == "gmm9_grid") {
    // Sendera et al.'s 9GMM: the grid {-5, 0, 5}^2, standard deviation 0.5477 (variance 0.3).
    for (double a : {-5.0, 0.0, 5.0})
      for (double b : {-5.0, 0.0, 5.0}) mixture.means.push_back({a, b});
    mixture.weights.assign(9, 1.0 / 9);
    mixture.variances.assign(9, 0.3);
  } else if (name == "gmm40") {
    // Midgley et al.'s (FAB) 40GMM: means (U[0,1) - 1/2) * 80 drawn by PyTorch's CPU generator from
    // seed 0, which LibTorch shares, so the modes are the benchmark's; scale softplus(1) per axis.
    const at::Generator generator = at::detail::createCPUGenerator(0);
    const at::Tensor means = (at::rand({40, 2}, generator, at::kFloat) - 0.5) * 80;
    for (int64_t k = 0; k < 40; ++k)
      mixture.means.push_back({means[k][0].item<float>(), means[k][1].item<float>()});
    const double scale = std::log1p(std::exp(1.0));
    mixture.weights.assign(40, 1.0 / 40);
    mixture.variances.assign(40, scale * scale);
  } else {
    config_fail(key, "unknown preset '" + name + "' (choose one of: gmm25, gmm9, gmm9_grid, gmm40)");
  }
  return mixture;
}

}  // namespace

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0)
    throw Error("--set '" + assignment + "': expected key=value, e.g. train.iterations=100");
  const std::string key = assignment.substr(0, equals);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(equals + 1));
  } catch (const YAML::Exception& e) {
    throw Error("--set '" + key + "': value is not valid YAML: " + e.msg);
  }
  // yaml-cpp nodes are handles: walking with operator[] on copies mutates the tree in place.
  std::vector<YAML::Node> chain{root};
  std::stringstream parts(key);
  std::string part;
  std::vector<std::string> names;
  while (std::getline(parts, part, '.')) names.push_back(part);
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    YAML::Node next = chain.back()[names[i]];
    // A component given by its kind alone (`objective: tb`) opens into its section.
    if (next.IsScalar()) {
      const std::string kind = next.as<std::string>();
      next = YAML::Node(YAML::NodeType::Map);
      next["kind"] = kind;
      chain.back()[names[i]] = next;
    }
    if (next.IsDefined() && !next.IsNull() && !next.IsMap())
      throw Error("--set '" + key + "': '" + names[i] + "' is not a section");
    chain.push_back(next);
  }
  chain.back()[names.back()] = value;
}

MixtureConfig read_mixture(ConfigSection& section) {
  MixtureConfig mixture;
  if (section.has("preset")) {
    mixture = preset_mixture(section.require<std::string>("preset"), section.key_path("preset"));
  } else {
    mixture.means = section.require<std::vector<std::vector<double>>>("means");
    if (mixture.means.empty()) config_fail(section.key_path("means"), "needs at least one component");
    const size_t dim = mixture.means.front().size();
    if (dim == 0) config_fail(section.key_path("means"), "components need at least one coordinate");
    for (const auto& mean : mixture.means)
      if (mean.size() != dim)
        config_fail(section.key_path("means"), "all means must have the same dimension");
    const size_t k = mixture.means.size();
    mixture.weights = section.get<std::vector<double>>("weights", std::vector<double>(k, 1.0));
    if (mixture.weights.size() != k) config_fail(section.key_path("weights"), "needs one weight per mean");
    const YAML::Node variance = section.raw("variance");
    if (!variance) config_fail(section.key_path("variance"), "required key is missing");
    mixture.variances =
        variance.IsSequence()
            ? ConfigSection::convert<std::vector<double>>(variance, section.key_path("variance"))
            : std::vector<double>(k, ConfigSection::convert<double>(variance, section.key_path("variance")));
    if (mixture.variances.size() != k)
      config_fail(section.key_path("variance"), "needs one variance per mean");
  }
  double total = 0;
  for (double w : mixture.weights) {
    if (!(w > 0)) config_fail(section.key_path("weights"), "weights must be positive");
    total += w;
  }
  // Normalising already-normalised weights would perturb their last bits on every save and reload.
  if (std::abs(total - 1.0) > 1e-12)
    for (double& w : mixture.weights) w /= total;
  for (double v : mixture.variances) require_positive(v, section.key_path("variance"));
  section.finish();
  return mixture;
}

YAML::Node emit_mixture(const MixtureConfig& mixture) {
  YAML::Node node;
  node["means"] = yaml_flow(mixture.means);
  node["weights"] = yaml_flow(mixture.weights);
  node["variance"] = yaml_flow(mixture.variances);
  return node;
}

double TrainConfig::lr_scale(int iteration) const {
  if (!lr_decay || iteration <= lr_decay->start) return 1.0;
  const double progress = std::min(
      1.0, static_cast<double>(iteration - lr_decay->start) / std::max(1, iterations - 1 - lr_decay->start));
  return 1.0 - progress * (1.0 - lr_decay->final_fraction);
}

Task Config::task() const { return find_objective_kind(objective.kind, "objective.kind").task; }

int Config::dim() const {
  if (task() == Task::kPosterior) return prior.mixture.dim();
  return find_target_kind(target.kind, "target.kind").dim(target.options);
}

namespace {

// `key: name` or `key: {kind: name, ...options}`: the kind, and the options resolved by `resolve`.
template <typename Kind>
ComponentConfig read_component(ConfigSection& parent, const std::string& key,
                               const Kind& (*find)(const std::string&, const std::string&)) {
  ComponentConfig component;
  if (!parent.has(key)) config_fail(key, "required key is missing");
  const YAML::Node node = parent.raw(key);
  YAML::Node options = node.IsScalar() ? YAML::Node(YAML::NodeType::Map) : node;
  ConfigSection section(options, key, parent.base_dir());
  component.kind =
      node.IsScalar() ? ConfigSection::convert<std::string>(node, key) : section.require<std::string>("kind");
  const Kind& kind = find(component.kind, node.IsScalar() ? key : key + ".kind");
  component.options = YAML::Node(YAML::NodeType::Map);
  kind.resolve(section, component.options);
  section.finish();
  return component;
}

void write_component(YAML::Node& root, const std::string& key, const ComponentConfig& component) {
  YAML::Node node;
  node["kind"] = component.kind;
  for (const auto& entry : component.options) node[entry.first] = entry.second;
  root[key] = node;
}

}  // namespace

YAML::Node config_root(const std::string& yaml_text, const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error("config: not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& assignment : overrides) apply_override(root, assignment);
  return root;
}

Config parse_config(const std::string& yaml_text, const std::vector<std::string>& overrides,
                    const std::filesystem::path& base_dir) {
  YAML::Node root = config_root(yaml_text, overrides);
  Config config;
  ConfigSection top(root, "", base_dir);
  config.objective = read_component(top, "objective", find_objective_kind);
  const Task task = config.task();
  const char* required_source = find_objective_kind(config.objective.kind, "objective.kind").source;
  if (!top.has("source"))
    root["source"]["kind"] = required_source ? required_source : task == Task::kData ? "data" : "on_policy";
  config.source = read_component(top, "source", find_source_kind);
  if (required_source && config.source.kind != required_source)
    config_fail("source.kind", "objective " + config.objective_name() + " trains only from source '" +
                                   required_source + "'");
  if (find_source_kind(config.source.kind, "source.kind").trains_on_data != (task == Task::kData))
    config_fail("source.kind", "source '" + config.source.kind + "' does not fit objective " +
                                   config.objective_name() +
                                   (task == Task::kData ? " (it learns from data: source data)"
                                                        : " (data is for objectives that learn from data)"));
  config.seed = top.get<uint64_t>("seed", 0);

  ConfigSection process = top.section("process");
  config.process.steps = process.get("steps", config.process.steps);
  require_at_least(config.process.steps, 1, "process.steps");
  config.process.sigma2 = process.get("sigma2", config.process.sigma2);
  require_positive(config.process.sigma2, "process.sigma2");
  process.finish();

  ConfigSection network = top.section("network");
  config.network.hidden = network.get("hidden", config.network.hidden);
  require_at_least(config.network.hidden, 1, "network.hidden");
  config.network.fourier_features = network.get("fourier_features", config.network.fourier_features);
  require_at_least(config.network.fourier_features, 1, "network.fourier_features");
  config.network.layers = network.get("layers", config.network.layers);
  require_at_least(config.network.layers, 0, "network.layers");
  if (network.has("langevin")) {
    ConfigSection langevin = network.section("langevin");
    LangevinConfig& l = config.network.langevin.emplace();
    l.gradient_clip = langevin.get("gradient_clip", l.gradient_clip);
    require_positive(l.gradient_clip, "network.langevin.gradient_clip");
    l.drift_clip = langevin.get("drift_clip", l.drift_clip);
    require_positive(l.drift_clip, "network.langevin.drift_clip");
    langevin.finish();
  }
  network.skip("langevin");
  if (network.has("log_variance_range")) {
    config.network.log_variance_range = network.require<double>("log_variance_range");
    const double range = *config.network.log_variance_range;
    if (!(range > 0 && range <= 10))
      config_fail("network.log_variance_range",
                  "must lie in (0, 10] (e^range scales a step's variance; float32 overflows beyond), got " +
                      std::to_string(range));
  }
  network.skip("log_variance_range");
  if (network.has("learned_backward")) {
    ConfigSection backward = network.section("learned_backward");
    LearnedBackwardConfig& b = config.network.learned_backward.emplace();
    b.scale_range = backward.get("scale_range", b.scale_range);
    if (!(b.scale_range > 0 && b.scale_range < 1))
      config_fail(
          backward.key_path("scale_range"),
          "must lie in (0, 1) so that the variance stays positive, got " + std::to_string(b.scale_range));
    backward.finish();
    if (task != Task::kSampler)
      config_fail("network.learned_backward",
                  "only sampler objectives (tb, vargrad, subtb, db, pis) have a backward kernel to learn");
  }
  network.skip("learned_backward");
  if (network.has("guidance")) {
    config.network.guidance = network.require<double>("guidance");
    require_positive(*config.network.guidance, "network.guidance");
    if (task != Task::kPosterior)
      config_fail("network.guidance", "classifier guidance is for posterior objectives (rtb)");
    if (config.network.langevin)
      config_fail("network.guidance", "guidance and langevin are two different policies");
    if (config.network.log_variance_range)
      config_fail("network.guidance", "classifier guidance has no network to learn a variance with");
  }
  network.skip("guidance");
  const std::string engine = network.get("engine", std::string("fused"));
  if (engine != "fused" && engine != "libtorch")
    config_fail("network.engine", "must be fused or libtorch, got '" + engine + "'");
  config.network.fused = engine == "fused";
  network.finish();

  const bool is_posterior = task == Task::kPosterior;
  const auto only_for = [&](const std::string& key, bool allowed, const std::string& tasks) {
    if (top.has(key) && !allowed)
      config_fail(key, "not used by objective " + config.objective_name() + " (only by " + tasks + ")");
  };
  only_for("target", !is_posterior, "sampler and data objectives");
  only_for("prior", is_posterior, "posterior objectives");
  only_for("reward", is_posterior, "posterior objectives");

  if (!is_posterior) {
    config.target = read_component(top, "target", find_target_kind);
    if (task == Task::kData && !find_target_kind(config.target.kind, "target.kind").exact_sampler)
      config_fail("target.kind", "objective " + config.objective_name() +
                                     " trains on exact samples, which target '" + config.target.kind +
                                     "' does not have");
  } else {
    if (!top.has("prior")) config_fail("prior", "required key is missing");
    ConfigSection prior = top.section("prior");
    config.prior.kind = parse_choice<PriorConfig::Kind>(
        prior.require<std::string>("kind"),
        {{"exact", PriorConfig::Kind::kExact}, {"neural", PriorConfig::Kind::kNeural}}, "prior.kind");
    if (config.prior.kind == PriorConfig::Kind::kExact) {
      config.prior.mixture = read_mixture(prior.section("mixture"));
      if (prior.has("run_dir")) config_fail("prior.run_dir", "only for prior.kind: neural");
    } else {
      if (prior.has("mixture"))
        config_fail("prior.mixture", "a neural prior's mixture comes from its run_dir");
      std::filesystem::path run_dir = prior.require<std::string>("run_dir");
      if (run_dir.is_relative()) run_dir = base_dir / run_dir;
      config.prior.run_dir = run_dir.lexically_normal();
      for (const char* file : {run_files::kConfig, run_files::kCheckpoint})
        if (!std::filesystem::exists(config.prior.run_dir / file))
          config_fail("prior.run_dir",
                      "no " + std::string(file) + " in '" + config.prior.run_dir.string() +
                          "' (train the prior first: tilt train <prior config> --out <run_dir>)");
      const Config prior_run = load_config(config.prior.run_dir / run_files::kConfig);
      if (prior_run.task() != Task::kData || prior_run.target.kind != "mixture")
        config_fail("prior.run_dir",
                    "'" + config.prior.run_dir.string() + "' is not a run that learned a mixture from data");
      config.prior.mixture = read_mixture(ConfigSection(prior_run.target.options, "target"));
      config.network = prior_run.network;
      if (prior_run.network.langevin)
        config_fail("prior.run_dir",
                    "'" + config.prior.run_dir.string() +
                        "' has a Langevin-parametrised network, which a neural prior cannot be");
      if (prior_run.network.log_variance_range)
        config_fail("prior.run_dir", "'" + config.prior.run_dir.string() +
                                         "' learned its variance; a neural prior is the reference kernel of "
                                         "RTB and must keep the process's variance");
      if (top.has("network")) config_fail("network", "a neural prior fixes the network; remove this section");
      if (prior_run.process.sigma2 != config.process.sigma2 ||
          prior_run.process.steps != config.process.steps)
        config_fail("process", "must match the neural prior's process (steps " +
                                   std::to_string(prior_run.process.steps) + ", sigma2 " +
                                   std::to_string(prior_run.process.sigma2) + ")");
    }
    prior.finish();

    if (!top.has("reward")) config_fail("reward", "required key is missing");
    ConfigSection reward = top.section("reward");
    config.reward.kind =
        parse_choice<RewardConfig::Kind>(reward.require<std::string>("kind"),
                                         {{"gaussian_likelihood", RewardConfig::Kind::kGaussianLikelihood},
                                          {"mixture_ratio", RewardConfig::Kind::kMixtureRatio},
                                          {"torchscript", RewardConfig::Kind::kTorchScript}},
                                         "reward.kind");
    const int dim = config.prior.mixture.dim();
    if (config.reward.kind == RewardConfig::Kind::kGaussianLikelihood) {
      config.reward.y = reward.require<std::vector<double>>("y");
      const size_t m = config.reward.y.size();
      if (m == 0) config_fail("reward.y", "needs at least one observation");
      if (reward.has("A")) {
        config.reward.a = reward.require<std::vector<std::vector<double>>>("A");
      } else {
        if (static_cast<int>(m) != dim)
          config_fail("reward.A", "required when y's length differs from the dimension");
        for (int i = 0; i < dim; ++i) {
          config.reward.a.emplace_back(dim, 0.0);
          config.reward.a[i][i] = 1.0;
        }
      }
      if (config.reward.a.size() != m)
        config_fail("reward.A", "needs one row per entry of y (" + std::to_string(m) + ")");
      for (const auto& row : config.reward.a)
        if (static_cast<int>(row.size()) != dim)
          config_fail("reward.A", "rows need " + std::to_string(dim) + " columns");
      config.reward.noise_variance = reward.require<double>("noise_variance");
      require_positive(config.reward.noise_variance, "reward.noise_variance");
    } else if (config.reward.kind == RewardConfig::Kind::kMixtureRatio) {
      config.reward.numerator = read_mixture(reward.section("numerator"));
      if (config.reward.numerator.dim() != dim)
        config_fail("reward.numerator", "dimension differs from the prior's");
    } else {
      config.reward.file = reward.require_existing_path("file");
      TorchScriptFunction::check(config.reward.file, dim, "reward.file");  // now, before any run directory
    }
    config.reward.beta = reward.get("beta", config.reward.beta);
    require_positive(config.reward.beta, "reward.beta");
    if (config.reward.beta != 1.0 && config.reward.kind == RewardConfig::Kind::kMixtureRatio)
      config_fail("reward.beta", "a mixture_ratio reward has an exact posterior only for beta = 1");
    reward.finish();
  }

  ConfigSection train = top.section("train");
  TrainConfig& t = config.train;
  t.iterations = train.get("iterations", t.iterations);
  require_at_least(t.iterations, 1, "train.iterations");
  if (t.iterations > static_cast<int>(kMaxTrainingIterations))
    config_fail("train.iterations",
                "at most " + std::to_string(kMaxTrainingIterations) + " (the RNG counter's training range)");
  t.batch = train.get("batch", t.batch);
  require_at_least(t.batch, 1, "train.batch");
  t.lr = train.get("lr", t.lr);
  require_positive(t.lr, "train.lr");
  if (train.has("lr_decay")) {
    ConfigSection decay = train.section("lr_decay");
    LearningRateDecay& d = t.lr_decay.emplace();
    d.start = decay.get("start", d.start);
    require_at_least(d.start, 0, "train.lr_decay.start");
    d.final_fraction = decay.get("final_fraction", d.final_fraction);
    if (!(d.final_fraction > 0 && d.final_fraction <= 1))
      config_fail("train.lr_decay.final_fraction",
                  "must lie in (0, 1], got " + std::to_string(d.final_fraction));
    decay.finish();
  }
  train.skip("lr_decay");
  if (task == Task::kData && train.has("exploration"))
    config_fail("train.exploration", "does not apply to objective " + config.objective_name() +
                                         " (it trains on backward trajectories from data)");
  ConfigSection exploration = train.section("exploration");
  t.exploration.std = exploration.get("std", 0.0);
  if (t.exploration.std < 0)
    config_fail("train.exploration.std", "must be >= 0, got " + std::to_string(t.exploration.std));
  t.exploration.hold = exploration.get("hold", 0);
  require_at_least(t.exploration.hold, 0, "train.exploration.hold");
  // By default the noise decays over the whole run.
  t.exploration.decay_until = exploration.get("decay_until", std::max(t.iterations, t.exploration.hold));
  if (t.exploration.decay_until < t.exploration.hold)
    config_fail("train.exploration.decay_until", "must be >= hold");
  exploration.finish();
  t.score_chunk_steps = train.get("score_chunk_steps", t.score_chunk_steps);
  require_at_least(t.score_chunk_steps, 0, "train.score_chunk_steps");
  if (t.score_chunk_steps > config.process.steps)
    config_fail("train.score_chunk_steps",
                "must be <= process.steps (" + std::to_string(config.process.steps) + ")");
  t.checkpoint_every = train.get("checkpoint_every", t.checkpoint_every);
  require_at_least(t.checkpoint_every, 1, "train.checkpoint_every");
  t.log_every = train.get("log_every", t.log_every);
  require_at_least(t.log_every, 1, "train.log_every");
  train.finish();

  ConfigSection eval = top.section("eval");
  config.eval.samples = eval.get("samples", config.eval.samples);
  require_at_least(config.eval.samples, 1, "eval.samples");
  if (eval.has("plot_box")) {
    config.eval.plot_box = eval.require<std::vector<double>>("plot_box");
    const auto& box = *config.eval.plot_box;
    if (box.size() != 4 || !(box[0] < box[1]) || !(box[2] < box[3]))
      config_fail("eval.plot_box", "expected [x_min, x_max, y_min, y_max] with min < max");
  }
  eval.finish();

  top.finish();
  return config;
}

std::string config_method(const std::filesystem::path& path) {
  try {
    const YAML::Node root = YAML::LoadFile(path.string());
    if (root.IsMap() && root["method"] && root["method"].IsScalar()) return root["method"].as<std::string>();
  } catch (const YAML::Exception&) {
  }
  return "";
}

std::string read_config_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("config: cannot read '" + path.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  return parse_config_file(
      path, [&](const std::string& text) { return parse_config(text, overrides, path.parent_path()); });
}

std::string to_yaml(const Config& config) {
  YAML::Node root;
  write_component(root, "objective", config.objective);
  root["seed"] = config.seed;
  root["process"]["steps"] = config.process.steps;
  root["process"]["sigma2"] = yaml_number(config.process.sigma2);
  const bool is_posterior = config.task() == Task::kPosterior;
  // A neural prior fixes the network section (sizes and engine: its run's).
  if (!(is_posterior && config.prior.kind == PriorConfig::Kind::kNeural)) {
    root["network"]["engine"] = config.network.fused ? "fused" : "libtorch";
    root["network"]["hidden"] = config.network.hidden;
    root["network"]["fourier_features"] = config.network.fourier_features;
    root["network"]["layers"] = config.network.layers;
    if (config.network.guidance) root["network"]["guidance"] = yaml_number(*config.network.guidance);
    if (config.network.log_variance_range)
      root["network"]["log_variance_range"] = yaml_number(*config.network.log_variance_range);
    if (const auto& b = config.network.learned_backward)
      root["network"]["learned_backward"]["scale_range"] = yaml_number(b->scale_range);
    if (const auto& l = config.network.langevin) {
      root["network"]["langevin"]["gradient_clip"] = yaml_number(l->gradient_clip);
      root["network"]["langevin"]["drift_clip"] = yaml_number(l->drift_clip);
    }
  }
  if (is_posterior) {
    if (config.prior.kind == PriorConfig::Kind::kExact) {
      root["prior"]["kind"] = "exact";
      root["prior"]["mixture"] = emit_mixture(config.prior.mixture);
    } else {
      root["prior"]["kind"] = "neural";
      root["prior"]["run_dir"] = std::filesystem::absolute(config.prior.run_dir).string();
    }
    if (config.reward.kind == RewardConfig::Kind::kGaussianLikelihood) {
      root["reward"]["kind"] = "gaussian_likelihood";
      root["reward"]["A"] = yaml_flow(config.reward.a);
      root["reward"]["y"] = yaml_flow(config.reward.y);
      root["reward"]["noise_variance"] = yaml_number(config.reward.noise_variance);
    } else if (config.reward.kind == RewardConfig::Kind::kMixtureRatio) {
      root["reward"]["kind"] = "mixture_ratio";
      root["reward"]["numerator"] = emit_mixture(config.reward.numerator);
    } else {
      root["reward"]["kind"] = "torchscript";
      root["reward"]["file"] = config.reward.file.string();
    }
    root["reward"]["beta"] = yaml_number(config.reward.beta);
  } else {
    write_component(root, "target", config.target);
  }
  write_component(root, "source", config.source);
  const TrainConfig& t = config.train;
  YAML::Node train = root["train"];
  train["iterations"] = t.iterations;
  train["batch"] = t.batch;
  train["lr"] = yaml_number(t.lr);
  if (t.lr_decay) {
    train["lr_decay"]["start"] = t.lr_decay->start;
    train["lr_decay"]["final_fraction"] = yaml_number(t.lr_decay->final_fraction);
  }
  if (config.task() != Task::kData) {
    train["exploration"]["std"] = yaml_number(t.exploration.std);
    train["exploration"]["hold"] = t.exploration.hold;
    train["exploration"]["decay_until"] = t.exploration.decay_until;
  }
  train["score_chunk_steps"] = t.score_chunk_steps;
  train["checkpoint_every"] = t.checkpoint_every;
  train["log_every"] = t.log_every;
  root["eval"]["samples"] = config.eval.samples;
  if (config.eval.plot_box) root["eval"]["plot_box"] = yaml_flow(*config.eval.plot_box);
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tilt
