#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "io/run_files.h"

namespace tilt {
namespace {

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw Error("config: '" + key + "': " + what);
}

// Non-finite numbers (.inf, .nan) are never meaningful in a config: rejected wherever a number is read.
template <typename T>
void require_finite(const T& value, const std::string& key) {
  if constexpr (std::is_same_v<T, double>) {
    if (!std::isfinite(value)) fail(key, "must be a finite number, got " + std::to_string(value));
  } else if constexpr (std::is_same_v<T, std::vector<double>> ||
                       std::is_same_v<T, std::vector<std::vector<double>>>) {
    for (const auto& element : value) require_finite(element, key);
  }
}

// A YAML mapping being read: records which keys were consumed so that finish() can reject the rest.
class Section {
 public:
  Section(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail(path_, "expected a mapping of keys");
  }

  // A key set to null (e.g. `--set prior.mixture=null`) counts as absent.
  bool has(const std::string& key) const {
    return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
  }
  std::string key_path(const std::string& key) const { return join(path_, key); }

  Section section(const std::string& key) {
    used_.insert(key);
    return Section(has(key) ? node_[key] : YAML::Node(), key_path(key));
  }

  YAML::Node raw(const std::string& key) {
    used_.insert(key);
    return has(key) ? node_[key] : YAML::Node();
  }

  template <typename T>
  T get(const std::string& key, const T& fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    return convert<T>(node_[key], key_path(key));
  }

  template <typename T>
  T require(const std::string& key) {
    used_.insert(key);
    if (!has(key)) fail(key_path(key), "required key is missing");
    return convert<T>(node_[key], key_path(key));
  }

  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!used_.count(key)) fail(key_path(key), "unknown key");
    }
  }

  template <typename T>
  static T convert(const YAML::Node& value, const std::string& where) {
    try {
      if constexpr (std::is_same_v<T, std::vector<double>> ||
                    std::is_same_v<T, std::vector<std::vector<double>>>) {
        if (!value.IsSequence()) fail(where, "expected a list");
      } else {
        if (!value.IsScalar()) fail(where, "expected a single value");
      }
      T result = value.as<T>();
      require_finite(result, where);
      return result;
    } catch (const YAML::Exception&) {
      std::ostringstream shown;
      shown << value;
      fail(where, "cannot read '" + shown.str() + "' as " + type_name<T>());
    }
  }

 private:
  template <typename T>
  static std::string type_name() {
    if constexpr (std::is_same_v<T, int> || std::is_same_v<T, uint64_t>) return "an integer";
    if constexpr (std::is_same_v<T, double>) return "a number";
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    if constexpr (std::is_same_v<T, bool>) return "true/false";
    if constexpr (std::is_same_v<T, std::vector<double>>) return "a list of numbers";
    return "a list of lists of numbers";
  }

  YAML::Node node_;
  std::string path_;
  std::set<std::string> used_;
};

void require_positive(double value, const std::string& key) {
  if (!(value > 0) || !std::isfinite(value))
    fail(key, "must be a positive number, got " + std::to_string(value));
}

void require_at_least(long long value, long long minimum, const std::string& key) {
  if (value < minimum) fail(key, "must be >= " + std::to_string(minimum) + ", got " + std::to_string(value));
}

template <typename Enum>
Enum parse_choice(const std::string& value, const std::map<std::string, Enum>& choices,
                  const std::string& key) {
  const auto found = choices.find(value);
  if (found != choices.end()) return found->second;
  std::string names;
  for (const auto& [name, _] : choices) names += (names.empty() ? "" : ", ") + name;
  fail(key, "unknown value '" + value + "' (choose one of: " + names + ")");
}

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
  } else {
    fail(key, "unknown preset '" + name + "' (choose one of: gmm25, gmm9)");
  }
  return mixture;
}

MixtureConfig read_mixture(Section section) {
  MixtureConfig mixture;
  if (section.has("preset")) {
    mixture = preset_mixture(section.require<std::string>("preset"), section.key_path("preset"));
  } else {
    mixture.means = section.require<std::vector<std::vector<double>>>("means");
    if (mixture.means.empty()) fail(section.key_path("means"), "needs at least one component");
    const size_t dim = mixture.means.front().size();
    if (dim == 0) fail(section.key_path("means"), "components need at least one coordinate");
    for (const auto& mean : mixture.means)
      if (mean.size() != dim) fail(section.key_path("means"), "all means must have the same dimension");
    const size_t k = mixture.means.size();
    mixture.weights = section.get<std::vector<double>>("weights", std::vector<double>(k, 1.0));
    if (mixture.weights.size() != k) fail(section.key_path("weights"), "needs one weight per mean");
    const YAML::Node variance = section.raw("variance");
    if (!variance) fail(section.key_path("variance"), "required key is missing");
    mixture.variances =
        variance.IsSequence()
            ? Section::convert<std::vector<double>>(variance, section.key_path("variance"))
            : std::vector<double>(k, Section::convert<double>(variance, section.key_path("variance")));
    if (mixture.variances.size() != k) fail(section.key_path("variance"), "needs one variance per mean");
  }
  double total = 0;
  for (double w : mixture.weights) {
    if (!(w > 0)) fail(section.key_path("weights"), "weights must be positive");
    total += w;
  }
  // Normalising already-normalised weights would perturb their last bits on every save and reload.
  if (std::abs(total - 1.0) > 1e-12)
    for (double& w : mixture.weights) w /= total;
  for (double v : mixture.variances) require_positive(v, section.key_path("variance"));
  section.finish();
  return mixture;
}

// The shortest text that reads back as exactly `value` (0.04, not 0.040000000000000001). An exponent
// gets a mantissa with a point (1.0e-05, not 1e-05): YAML 1.1 readers such as PyYAML take a number
// without a point for a string.
YAML::Node number(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  std::string text(buffer, end);
  const size_t exponent = text.find('e');
  if (exponent != std::string::npos && text.find('.') == std::string::npos) text.insert(exponent, ".0");
  return YAML::Node(text);
}

YAML::Node number(const std::vector<double>& values) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (double value : values) node.push_back(number(value));
  return node;
}

YAML::Node number(const std::vector<std::vector<double>>& rows) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& row : rows) node.push_back(number(row));
  return node;
}

// Lists of numbers are written inline ([1, 2]) so that the resolved config stays readable.
template <typename T>
YAML::Node flow(const T& values) {
  YAML::Node node = number(values);
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

YAML::Node emit_mixture(const MixtureConfig& mixture) {
  YAML::Node node;
  node["means"] = flow(mixture.means);
  node["weights"] = flow(mixture.weights);
  node["variance"] = flow(mixture.variances);
  return node;
}

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
    if (next.IsDefined() && !next.IsNull() && !next.IsMap())
      throw Error("--set '" + key + "': '" + names[i] + "' is not a section");
    chain.push_back(next);
  }
  chain.back()[names.back()] = value;
}

}  // namespace

int Config::dim() const {
  switch (objective) {
    case ObjectiveKind::kRtb:
      return prior.mixture.dim();
    case ObjectiveKind::kTb:
    case ObjectiveKind::kMle:
      return target.dim();
  }
  return 0;
}

std::string Config::objective_name() const {
  switch (objective) {
    case ObjectiveKind::kRtb:
      return "rtb";
    case ObjectiveKind::kTb:
      return "tb";
    case ObjectiveKind::kMle:
      return "mle";
  }
  return "";
}

Config parse_config(const std::string& yaml_text, const std::vector<std::string>& overrides,
                    const std::filesystem::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error("config: not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& assignment : overrides) apply_override(root, assignment);

  Config config;
  Section top(root, "");
  config.objective = parse_choice<ObjectiveKind>(
      top.require<std::string>("objective"),
      {{"rtb", ObjectiveKind::kRtb}, {"tb", ObjectiveKind::kTb}, {"mle", ObjectiveKind::kMle}}, "objective");
  config.seed = top.get<uint64_t>("seed", 0);

  Section process = top.section("process");
  config.process.steps = process.get("steps", config.process.steps);
  require_at_least(config.process.steps, 1, "process.steps");
  config.process.sigma2 = process.get("sigma2", config.process.sigma2);
  require_positive(config.process.sigma2, "process.sigma2");
  process.finish();

  Section network = top.section("network");
  config.network.hidden = network.get("hidden", config.network.hidden);
  require_at_least(config.network.hidden, 1, "network.hidden");
  config.network.fourier_features = network.get("fourier_features", config.network.fourier_features);
  require_at_least(config.network.fourier_features, 1, "network.fourier_features");
  config.network.layers = network.get("layers", config.network.layers);
  require_at_least(config.network.layers, 0, "network.layers");
  network.finish();

  const bool is_rtb = config.objective == ObjectiveKind::kRtb;
  const auto only_for = [&](const std::string& key, bool allowed, const std::string& objectives) {
    if (top.has(key) && !allowed)
      fail(key, "not used by objective " + config.objective_name() + " (only " + objectives + ")");
  };
  only_for("target", !is_rtb, "tb, mle");
  only_for("prior", is_rtb, "rtb");
  only_for("reward", is_rtb, "rtb");

  if (!is_rtb) {
    if (!top.has("target")) fail("target", "required key is missing");
    Section target = top.section("target");
    config.target = read_mixture(target.section("mixture"));
    target.finish();
  } else {
    if (!top.has("prior")) fail("prior", "required key is missing");
    Section prior = top.section("prior");
    config.prior.kind = parse_choice<PriorConfig::Kind>(
        prior.require<std::string>("kind"),
        {{"exact", PriorConfig::Kind::kExact}, {"neural", PriorConfig::Kind::kNeural}}, "prior.kind");
    if (config.prior.kind == PriorConfig::Kind::kExact) {
      config.prior.mixture = read_mixture(prior.section("mixture"));
      if (prior.has("run_dir")) fail("prior.run_dir", "only for prior.kind: neural");
    } else {
      if (prior.has("mixture")) fail("prior.mixture", "a neural prior's mixture comes from its run_dir");
      std::filesystem::path run_dir = prior.require<std::string>("run_dir");
      if (run_dir.is_relative()) run_dir = base_dir / run_dir;
      config.prior.run_dir = run_dir.lexically_normal();
      for (const char* file : {run_files::kConfig, run_files::kCheckpoint})
        if (!std::filesystem::exists(config.prior.run_dir / file))
          fail("prior.run_dir", "no " + std::string(file) + " in '" + config.prior.run_dir.string() +
                                    "' (train the prior first: tilt train <prior config> --out <run_dir>)");
      const Config prior_run = load_config(config.prior.run_dir / run_files::kConfig);
      if (prior_run.objective != ObjectiveKind::kMle)
        fail("prior.run_dir", "'" + config.prior.run_dir.string() + "' is not an `objective: mle` run");
      config.prior.mixture = prior_run.target;
      config.network = prior_run.network;
      if (top.has("network")) fail("network", "a neural prior fixes the network; remove this section");
      if (prior_run.process.sigma2 != config.process.sigma2 ||
          prior_run.process.steps != config.process.steps)
        fail("process", "must match the neural prior's process (steps " +
                            std::to_string(prior_run.process.steps) + ", sigma2 " +
                            std::to_string(prior_run.process.sigma2) + ")");
    }
    prior.finish();

    if (!top.has("reward")) fail("reward", "required key is missing");
    Section reward = top.section("reward");
    config.reward.kind =
        parse_choice<RewardConfig::Kind>(reward.require<std::string>("kind"),
                                         {{"gaussian_likelihood", RewardConfig::Kind::kGaussianLikelihood},
                                          {"mixture_ratio", RewardConfig::Kind::kMixtureRatio}},
                                         "reward.kind");
    const int dim = config.prior.mixture.dim();
    if (config.reward.kind == RewardConfig::Kind::kGaussianLikelihood) {
      config.reward.y = reward.require<std::vector<double>>("y");
      const size_t m = config.reward.y.size();
      if (m == 0) fail("reward.y", "needs at least one observation");
      if (reward.has("A")) {
        config.reward.a = reward.require<std::vector<std::vector<double>>>("A");
      } else {
        if (static_cast<int>(m) != dim)
          fail("reward.A", "required when y's length differs from the dimension");
        for (int i = 0; i < dim; ++i) {
          config.reward.a.emplace_back(dim, 0.0);
          config.reward.a[i][i] = 1.0;
        }
      }
      if (config.reward.a.size() != m)
        fail("reward.A", "needs one row per entry of y (" + std::to_string(m) + ")");
      for (const auto& row : config.reward.a)
        if (static_cast<int>(row.size()) != dim)
          fail("reward.A", "rows need " + std::to_string(dim) + " columns");
      config.reward.noise_variance = reward.require<double>("noise_variance");
      require_positive(config.reward.noise_variance, "reward.noise_variance");
    } else {
      config.reward.numerator = read_mixture(reward.section("numerator"));
      if (config.reward.numerator.dim() != dim)
        fail("reward.numerator", "dimension differs from the prior's");
    }
    reward.finish();
  }

  Section train = top.section("train");
  TrainConfig& t = config.train;
  t.iterations = train.get("iterations", t.iterations);
  require_at_least(t.iterations, 1, "train.iterations");
  if (t.iterations > static_cast<int>(kMaxTrainingIterations))
    fail("train.iterations",
         "at most " + std::to_string(kMaxTrainingIterations) + " (the RNG counter's training range)");
  t.batch = train.get("batch", t.batch);
  require_at_least(t.batch, 1, "train.batch");
  t.lr = train.get("lr", t.lr);
  require_positive(t.lr, "train.lr");
  t.log_z_lr = train.get("log_z_lr", t.log_z_lr);
  require_positive(t.log_z_lr, "train.log_z_lr");
  t.beta = train.get("beta", t.beta);
  require_positive(t.beta, "train.beta");
  const YAML::Node floor = train.raw("log_reward_floor");
  if (floor && !floor.IsNull())
    t.log_reward_floor = Section::convert<double>(floor, "train.log_reward_floor");
  if (!is_rtb && (train.has("beta") || t.log_reward_floor))
    fail("train", "beta and log_reward_floor are rtb options");
  if (config.objective == ObjectiveKind::kMle && (train.has("exploration") || train.has("log_z_lr")))
    fail("train", "exploration and log_z_lr do not apply to objective mle (it trains on bridges from data)");
  if (is_rtb && t.beta != 1.0 && config.reward.kind == RewardConfig::Kind::kMixtureRatio)
    fail("train.beta", "a mixture_ratio reward has an exact posterior only for beta = 1");
  Section exploration = train.section("exploration");
  t.exploration.std = exploration.get("std", 0.0);
  if (t.exploration.std < 0) fail("train.exploration.std", "must be >= 0, got " + std::to_string(t.exploration.std));
  t.exploration.hold = exploration.get("hold", 0);
  require_at_least(t.exploration.hold, 0, "train.exploration.hold");
  // By default the noise decays over the whole run.
  t.exploration.decay_until = exploration.get("decay_until", std::max(t.iterations, t.exploration.hold));
  if (t.exploration.decay_until < t.exploration.hold)
    fail("train.exploration.decay_until", "must be >= hold");
  exploration.finish();
  t.score_chunk_steps = train.get("score_chunk_steps", t.score_chunk_steps);
  require_at_least(t.score_chunk_steps, 0, "train.score_chunk_steps");
  if (t.score_chunk_steps > config.process.steps)
    fail("train.score_chunk_steps", "must be <= process.steps (" + std::to_string(config.process.steps) + ")");
  t.checkpoint_every = train.get("checkpoint_every", t.checkpoint_every);
  require_at_least(t.checkpoint_every, 1, "train.checkpoint_every");
  t.log_every = train.get("log_every", t.log_every);
  require_at_least(t.log_every, 1, "train.log_every");
  train.finish();

  Section eval = top.section("eval");
  config.eval.samples = eval.get("samples", config.eval.samples);
  require_at_least(config.eval.samples, 1, "eval.samples");
  if (eval.has("plot_box")) {
    config.eval.plot_box = eval.require<std::vector<double>>("plot_box");
    const auto& box = *config.eval.plot_box;
    if (box.size() != 4 || !(box[0] < box[1]) || !(box[2] < box[3]))
      fail("eval.plot_box", "expected [x_min, x_max, y_min, y_max] with min < max");
  }
  eval.finish();

  top.finish();
  return config;
}

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw Error("config: cannot read '" + path.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parse_config(text.str(), overrides, path.parent_path());
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

std::string to_yaml(const Config& config) {
  YAML::Node root;
  root["objective"] = config.objective_name();
  root["seed"] = config.seed;
  root["process"]["steps"] = config.process.steps;
  root["process"]["sigma2"] = number(config.process.sigma2);
  if (!(config.objective == ObjectiveKind::kRtb && config.prior.kind == PriorConfig::Kind::kNeural)) {
    root["network"]["hidden"] = config.network.hidden;
    root["network"]["fourier_features"] = config.network.fourier_features;
    root["network"]["layers"] = config.network.layers;
  }
  if (config.objective == ObjectiveKind::kRtb) {
    if (config.prior.kind == PriorConfig::Kind::kExact) {
      root["prior"]["kind"] = "exact";
      root["prior"]["mixture"] = emit_mixture(config.prior.mixture);
    } else {
      root["prior"]["kind"] = "neural";
      root["prior"]["run_dir"] = std::filesystem::absolute(config.prior.run_dir).string();
    }
    if (config.reward.kind == RewardConfig::Kind::kGaussianLikelihood) {
      root["reward"]["kind"] = "gaussian_likelihood";
      root["reward"]["A"] = flow(config.reward.a);
      root["reward"]["y"] = flow(config.reward.y);
      root["reward"]["noise_variance"] = number(config.reward.noise_variance);
    } else {
      root["reward"]["kind"] = "mixture_ratio";
      root["reward"]["numerator"] = emit_mixture(config.reward.numerator);
    }
  } else {
    root["target"]["mixture"] = emit_mixture(config.target);
  }
  const TrainConfig& t = config.train;
  YAML::Node train = root["train"];
  train["iterations"] = t.iterations;
  train["batch"] = t.batch;
  train["lr"] = number(t.lr);
  if (config.objective != ObjectiveKind::kMle) {
    train["log_z_lr"] = number(t.log_z_lr);
    train["exploration"]["std"] = number(t.exploration.std);
    train["exploration"]["hold"] = t.exploration.hold;
    train["exploration"]["decay_until"] = t.exploration.decay_until;
  }
  if (config.objective == ObjectiveKind::kRtb) {
    train["beta"] = number(t.beta);
    if (t.log_reward_floor) train["log_reward_floor"] = number(*t.log_reward_floor);
  }
  train["score_chunk_steps"] = t.score_chunk_steps;
  train["checkpoint_every"] = t.checkpoint_every;
  train["log_every"] = t.log_every;
  root["eval"]["samples"] = config.eval.samples;
  if (config.eval.plot_box) root["eval"]["plot_box"] = flow(*config.eval.plot_box);
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tilt
