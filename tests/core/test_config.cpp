#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "methods/methods.h"
#include "sweep/sweep_spec.h"

namespace tilt {
namespace {

const char* kMinimal = R"(
objective: rtb
prior: {kind: exact, mixture: {preset: gmm25}}
reward: {kind: gaussian_likelihood, y: [-6, 2], noise_variance: 9}
)";

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(yaml, overrides, ".");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, MinimalRtbConfigGetsDefaultsAndIdentityA) {
  const Config config = parse_config(kMinimal, {}, ".");
  EXPECT_EQ(config.objective.kind, "rtb");
  EXPECT_EQ(config.task(), Task::kPosterior);
  EXPECT_EQ(config.dim(), 2);
  EXPECT_EQ(config.prior.mixture.means.size(), 25u);
  EXPECT_DOUBLE_EQ(config.prior.mixture.weights[3], 1.0 / 25);
  ASSERT_EQ(config.reward.a.size(), 2u);
  EXPECT_EQ(config.reward.a[0], (std::vector<double>{1, 0}));
  EXPECT_EQ(config.process.steps, 100);
}

TEST(Config, OverridesReplaceAndCreateKeys) {
  const Config config = parse_config(
      kMinimal, {"train.iterations=7", "process.sigma2=2.5", "objective.log_reward_floor=-10"}, ".");
  EXPECT_EQ(config.train.iterations, 7);
  EXPECT_DOUBLE_EQ(config.process.sigma2, 2.5);
  EXPECT_EQ(config.objective.kind, "rtb");  // `objective: rtb` became a section with that kind
  EXPECT_DOUBLE_EQ(config.objective.options["log_reward_floor"].as<double>(), -10);
  EXPECT_DOUBLE_EQ(config.objective.options["log_z_lr"].as<double>(), 0.1);  // the default, written out
}

TEST(Config, ResolvedYamlRoundTrips) {
  const Config config =
      parse_config(kMinimal, {"train.exploration.std=0.3", "train.exploration.hold=5"}, ".");
  const Config again = parse_config(to_yaml(config), {}, ".");
  EXPECT_EQ(to_yaml(again), to_yaml(config));
  EXPECT_DOUBLE_EQ(again.train.exploration.std, 0.3);
}

// The learning-rate factor is 1 until lr_decay.start, then falls linearly to final_fraction at the
// last iteration (iterations - 1); the keys round-trip through the resolved YAML.
TEST(Config, LearningRateDecayIsLinearFromItsStartToTheLastIteration) {
  const Config config = parse_config(
      kMinimal, {"train.iterations=101", "train.lr_decay={start: 40, final_fraction: 0.25}"}, ".");
  const TrainConfig& t = config.train;
  EXPECT_DOUBLE_EQ(t.lr_scale(0), 1.0);
  EXPECT_DOUBLE_EQ(t.lr_scale(40), 1.0);
  EXPECT_DOUBLE_EQ(t.lr_scale(70), 1.0 - 0.5 * 0.75);
  EXPECT_DOUBLE_EQ(t.lr_scale(100), 0.25);
  EXPECT_DOUBLE_EQ(parse_config(kMinimal, {}, ".").train.lr_scale(999), 1.0);
  const Config again = parse_config(to_yaml(config), {}, ".");
  EXPECT_DOUBLE_EQ(again.train.lr_scale(70), t.lr_scale(70));
  EXPECT_DOUBLE_EQ(
      parse_config(kMinimal, {"train.iterations=10", "train.lr_decay={start: 50}"}, ".").train.lr_scale(9),
      1.0);
  EXPECT_NE(error_of(kMinimal, {"train.lr_decay={start: -1}"}).find("'train.lr_decay.start'"),
            std::string::npos);
  EXPECT_NE(
      error_of(kMinimal, {"train.lr_decay={final_fraction: 0}"}).find("'train.lr_decay.final_fraction'"),
      std::string::npos);
}

TEST(Config, ResolvedFloatsAreTheShortestTextThatReadsBackExactly) {
  const Config config = parse_config(
      kMinimal, {"train.lr=0.04", "process.sigma2=0.1", "objective.log_z_lr=1e-5", "reward.y=[0.3, -6]"},
      ".");
  const std::string yaml = to_yaml(config);
  EXPECT_NE(yaml.find("lr: 0.04\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("sigma2: 0.1\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("log_z_lr: 1.0e-05\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("y: [0.3, -6]"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("0000000"), std::string::npos) << yaml;
  const Config again = parse_config(yaml, {}, ".");
  EXPECT_EQ(again.train.lr, 0.04);
  EXPECT_EQ(again.process.sigma2, 0.1);
  EXPECT_EQ(again.reward.y, (std::vector<double>{0.3, -6}));
}

TEST(Config, NonFiniteNumbersAreRefusedEverywhere) {
  EXPECT_NE(error_of(kMinimal, {"reward.y=[.inf, 2]"}).find("'reward.y': must be a finite number"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"objective.log_reward_floor=-.inf"}).find("'objective.log_reward_floor'"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.lr=.nan"}).find("'train.lr'"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.iterations=0"}).find("'train.iterations': must be >= 1"),
            std::string::npos);
}

TEST(Config, BadConfigsFailWithAMessageNamingTheKey) {
  EXPECT_NE(error_of(kMinimal, {"train.lrr=1"}).find("'train.lrr': unknown key"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.lr=abc"}).find("'train.lr': cannot read 'abc' as a number"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.lr=-1"}).find("'train.lr': must be a positive number"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.batch=0"}).find("'train.batch': must be >= 1"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"process.steps=[1,2]"}).find("'process.steps': expected a single value"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"reward.y=[1,2,3]"}).find("'reward.A'"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"objective=dpo"})
                .find("'objective': unknown objective 'dpo' (choose one of: tb, rtb"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"objective.lambda=0.5"}).find("'objective.lambda': unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"objective.log_z_lr=0"}).find("'objective.log_z_lr': must be a positive"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"reward.beta=0"}).find("'reward.beta': must be a positive"),
            std::string::npos);
  EXPECT_NE(error_of("objective: tb\ntarget: {kind: cube}\n").find("'target.kind': unknown target 'cube'"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"prior.mixture.preset=gmm7"}).find("unknown preset 'gmm7'"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"target.preset=gmm9"}).find("'target': not used by objective rtb"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"prior.kind=neural", "prior.mixture=null", "prior.run_dir=/nonexistent"})
                .find("no config.yaml in '/nonexistent'"),
            std::string::npos);
  EXPECT_NE(error_of("objective: tb\n").find("'target': required key is missing"), std::string::npos);
  EXPECT_NE(error_of("objective: [\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"nokey"}).find("expected key=value"), std::string::npos);
}

TEST(Config, MixtureWeightsAreNormalisedAndCheckedForLength) {
  const Config config = parse_config(
      "objective: tb\ntarget: {kind: mixture, means: [[0], [3]], weights: [1, 3], variance: [1, 2]}\n", {},
      ".");
  EXPECT_DOUBLE_EQ(config.target.options["weights"][1].as<double>(), 0.75);
  EXPECT_EQ(config.dim(), 1);
  EXPECT_NE(error_of("objective: tb\ntarget: {kind: mixture, means: [[0], [3]], weights: [1], variance: 1}\n")
                .find("one weight per mean"),
            std::string::npos);
}

// The 40GMM's means come from PyTorch's CPU generator: these values were printed by PyTorch 1.13
// (Debian python3-torch) for torch.manual_seed(0); (torch.rand((40, 2)) - 0.5) * 80.
TEST(Config, MixturePresetsHaveTheirBenchmarkModes) {
  const auto target = [](const std::string& preset) {
    const Config config =
        parse_config("objective: tb\ntarget: {kind: mixture, preset: " + preset + "}\n", {}, ".");
    return config.target.options;
  };
  const YAML::Node gmm40 = target("gmm40");
  ASSERT_EQ(gmm40["means"].size(), 40u);
  EXPECT_FLOAT_EQ(gmm40["means"][0][0].as<float>(), -0.2994728088378906f);
  EXPECT_FLOAT_EQ(gmm40["means"][1][1].as<float>(), -29.43756103515625f);
  EXPECT_FLOAT_EQ(gmm40["means"][39][1].as<float>(), -25.024213790893555f);
  EXPECT_NEAR(gmm40["variance"][0].as<double>(), std::pow(std::log1p(std::exp(1.0)), 2), 1e-12);
  const YAML::Node grid = target("gmm9_grid");
  ASSERT_EQ(grid["means"].size(), 9u);
  EXPECT_EQ(grid["means"][8][0].as<double>(), 5.0);
  EXPECT_EQ(target("gmm25")["means"].size(), 25u);
}

TEST(Config, MissingFileIsAnError) { EXPECT_THROW(load_config("/nonexistent/config.yaml"), Error); }

// Every shipped config loads, and every row of every shipped sweep (configs that depend on a trained
// prior are loaded against a stand-in run directory by the CLI test, which trains that prior first).
TEST(Config, EveryShippedConfigLoads) {
  const char* source = std::getenv("TILT_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  int loaded = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::filesystem::path(source) / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("kind: neural") != std::string::npos) continue;
    if (entry.path().parent_path().filename() == "sweeps") {
      const sweep::SweepSpec spec = sweep::load_sweep_spec(entry.path());
      for (const auto& row : sweep::expand(spec))
        EXPECT_NO_THROW(validate_config_file(spec.config, row.overrides))
            << entry.path() << " row " << row.index;
    } else {
      EXPECT_NO_THROW(validate_config_file(entry.path())) << entry.path();
    }
    ++loaded;
  }
  EXPECT_GE(loaded, 3);
}

}  // namespace
}  // namespace tilt
