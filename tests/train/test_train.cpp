#include <gtest/gtest.h>
#include <torch/torch.h>

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>

#include "core/config.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "io/hdf5_file.h"
#include "io/run_files.h"
#include "test_helpers.h"
#include "train/evaluate.h"
#include "train/provenance.h"
#include "train/trainer.h"

namespace tilt {
namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("tilt_test_train_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

const char* kSmallRtb = R"(
objective: rtb
process: {steps: 10, sigma2: 5.0}
prior: {kind: exact, mixture: {preset: gmm25}}
reward: {kind: gaussian_likelihood, y: [-6, 2], noise_variance: 9}
network: {hidden: 16, fourier_features: 8, layers: 1}
train: {iterations: 6, batch: 24, checkpoint_every: 3, log_every: 1, exploration: {std: 0.3, hold: 2, decay_until: 5}}
eval: {samples: 100}
)";

TrainOptions options(const std::filesystem::path& dir, bool resume = false) {
  TrainOptions o;
  o.run_dir = dir;
  o.start = resume ? StartMode::kResume : StartMode::kFresh;
  o.quiet = true;
  return o;
}

TrainOptions options(const std::filesystem::path& dir, StartMode start) {
  TrainOptions o = options(dir);
  o.start = start;
  return o;
}

using tilt::test_support::error_message;

TEST(Trainer, WritesACompleteRunDirectory) {
  LocalCommunicator comm;
  const auto dir = fresh_dir("files");
  train(parse_config(kSmallRtb, {}, "."), options(dir), comm);
  for (const char* file :
       {run_files::kConfig, run_files::kCheckpoint, run_files::kMetricsCsv, run_files::kMetricsH5,
        run_files::kSamples, run_files::kEval, run_files::kProvenance})
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  const io::H5File samples = io::H5File::open_read(dir / run_files::kSamples);
  EXPECT_EQ(samples.read("/samples").sizes(), (at::IntArrayRef{100, 2}));
  EXPECT_EQ(samples.read("/samples").scalar_type(), torch::kFloat32);
  const io::H5File checkpoint = io::H5File::open_read(dir / run_files::kCheckpoint);
  EXPECT_EQ(checkpoint.read("/step").item<int64_t>(), 6);
  EXPECT_TRUE(checkpoint.has("/parameters/log_z"));
  EXPECT_TRUE(checkpoint.has("/optimizer/log_z/m"));
  // The resolved config reloads to the same config.
  EXPECT_EQ(to_yaml(load_config(dir / run_files::kConfig)), to_yaml(parse_config(kSmallRtb, {}, ".")));
  // A 2-D target's samples file carries the exact log density on a grid, for plots.
  EXPECT_EQ(samples.read("/exact/log_density").sizes(), (at::IntArrayRef{200, 200}));
  // A second fresh run into the same directory is refused rather than overwriting it.
  EXPECT_THROW(train(parse_config(kSmallRtb, {}, "."), options(dir), comm), Error);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, EveryFileCarriesTheProvenance) {
  LocalCommunicator comm;
  const auto dir = fresh_dir("provenance");
  const Config config = parse_config(kSmallRtb, {"seed=7"}, ".");
  train(config, options(dir), comm);
  for (const char* file : {run_files::kCheckpoint, run_files::kMetricsH5, run_files::kSamples}) {
    const io::H5File h5 = io::H5File::open_read(dir / file);
    EXPECT_EQ(h5.attribute("config_hash"), config_hash(config)) << file;
    EXPECT_EQ(h5.attribute("seed"), "7") << file;
    EXPECT_EQ(h5.attribute("ranks"), "1") << file;
    EXPECT_FALSE(h5.attribute("code_revision").empty()) << file;
    EXPECT_FALSE(h5.attribute("hdf5_version").empty()) << file;
  }
  const YAML::Node sidecar = YAML::LoadFile((dir / run_files::kProvenance).string());
  EXPECT_EQ(sidecar["config_hash"].as<std::string>(), config_hash(config));
  ASSERT_EQ(sidecar["sessions"].size(), 1u);
  EXPECT_EQ(sidecar["sessions"][0]["start_step"].as<int>(), 0);
  // A resumed session is appended, with the step it started from.
  train(parse_config(kSmallRtb, {"seed=7", "train.iterations=8"}, "."), options(dir, true), comm);
  const YAML::Node resumed = YAML::LoadFile((dir / run_files::kProvenance).string());
  ASSERT_EQ(resumed["sessions"].size(), 2u);
  EXPECT_EQ(resumed["sessions"][1]["start_step"].as<int>(), 6);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, ResumeRefusesAnotherSeedProcessOrNetwork) {
  LocalCommunicator comm;
  const auto dir = fresh_dir("refuse");
  train(parse_config(kSmallRtb, {"train.iterations=2"}, "."), options(dir), comm);
  for (const std::string change : {"seed=1", "process.steps=12", "process.sigma2=4", "network.hidden=8"}) {
    const std::string key = change.substr(0, change.find('='));
    const std::string message = error_message(
        [&] { train(parse_config(kSmallRtb, {change}, "."), options(dir, StartMode::kAutoResume), comm); });
    EXPECT_NE(message.find(key), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // ... and anything else that defines the run.
  const std::string reward = error_message([&] {
    train(parse_config(kSmallRtb, {"reward.y=[3, 3]"}, "."), options(dir, StartMode::kAutoResume), comm);
  });
  EXPECT_NE(reward.find("'reward.y'"), std::string::npos) << reward;
  // More iterations are a continuation, not a different run.
  train(parse_config(kSmallRtb, {"train.iterations=3"}, "."), options(dir, StartMode::kAutoResume), comm);
  EXPECT_EQ(io::H5File::open_read(dir / run_files::kCheckpoint).read("/step").item<int64_t>(), 3);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, ASecondTrainerOnTheSameDirectoryIsRefused) {
  LocalCommunicator comm;
  const auto dir = fresh_dir("locked");
  const RunDirectoryLock held(dir);
  const std::string message =
      error_message([&] { train(parse_config(kSmallRtb, {"train.iterations=1"}, "."), options(dir), comm); });
  EXPECT_NE(message.find("in use by another tilt"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir / run_files::kConfig));
  std::filesystem::remove_all(dir);
}

TEST(Trainer, ReplaceStartsAfreshAndAutoResumeStartsWhenThereIsNoCheckpoint) {
  LocalCommunicator comm;
  const auto dir = fresh_dir("replace");
  train(parse_config(kSmallRtb, {"train.iterations=2"}, "."), options(dir, StartMode::kAutoResume), comm);
  EXPECT_EQ(io::H5File::open_read(dir / run_files::kCheckpoint).read("/step").item<int64_t>(), 2);
  train(parse_config(kSmallRtb, {"train.iterations=1", "seed=3"}, "."), options(dir, StartMode::kReplace),
        comm);
  EXPECT_EQ(io::H5File::open_read(dir / run_files::kCheckpoint).read("/step").item<int64_t>(), 1);
  EXPECT_EQ(load_config(dir / run_files::kConfig).seed, 3u);
  std::filesystem::remove_all(dir);
}

// Stopping after 3 iterations and resuming to 6 gives bitwise the uninterrupted run: parameters,
// Adam moments, metrics - and for the replay source its buffers and adapted step size.
TEST(Trainer, ResumedRunReproducesTheUninterruptedOne) {
  LocalCommunicator comm;
  const std::vector<std::string> replay{
      "objective=tb", "prior=null", "reward=null", "target={kind: mixture, preset: gmm25}",
      "source={kind: replay, local_search: {every: 2, steps: 10, burn_in: 5}}"};
  // Learned variance, a learned backward kernel (replayed paths are drawn from it) and a decaying
  // learning rate: all functions of the checkpointed state and the iteration.
  std::vector<std::string> learned_kernels = replay;
  for (const char* key : {"network.log_variance_range=4", "network.learned_backward={}",
                          "train.lr_decay={start: 2, final_fraction: 0.5}"})
    learned_kernels.push_back(key);
  for (const auto& extra : {std::vector<std::string>{}, replay, learned_kernels}) {
    const auto whole = fresh_dir("whole"), split = fresh_dir("split");
    std::vector<std::string> first = extra;
    first.push_back("train.iterations=3");
    train(parse_config(kSmallRtb, extra, "."), options(whole), comm);
    train(parse_config(kSmallRtb, first, "."), options(split), comm);
    train(parse_config(kSmallRtb, extra, "."), options(split, true), comm);
    const io::H5File a = io::H5File::open_read(whole / run_files::kCheckpoint);
    const io::H5File b = io::H5File::open_read(split / run_files::kCheckpoint);
    // Parameters, and the Adam moments of every parameter (the network's and log Z), and its step count.
    std::vector<std::string> datasets{"/parameters/log_z", "/optimizer/log_z/m", "/optimizer/log_z/v",
                                      "/optimizer/steps"};
    for (const std::string network : {"network", "backward"}) {
      if (network == "backward" && extra != learned_kernels) continue;
      for (const auto& name : a.children("/parameters/" + network)) {
        datasets.push_back("/parameters/" + network + "/" + name);
        datasets.push_back("/optimizer/" + network + "/" + name + "/m");
        datasets.push_back("/optimizer/" + network + "/" + name + "/v");
      }
    }
    if (!extra.empty())
      for (const char* name : {"/source/replay/states", "/source/replay/log_reward",
                               "/source/local_search/states", "/source/local_search/step_size"})
        datasets.push_back(name);
    ASSERT_GT(datasets.size(), extra == learned_kernels ? 40u : 12u);
    for (const auto& dataset : datasets) {
      ASSERT_TRUE(a.has(dataset) && b.has(dataset)) << dataset;
      EXPECT_TRUE(torch::equal(a.read(dataset), b.read(dataset))) << dataset;
    }
    EXPECT_GT(a.read("/optimizer/log_z/v").abs().item<float>(), 0.0f);
    EXPECT_TRUE(
        torch::equal(a.read("/metrics/values").narrow(1, 1, 2), b.read("/metrics/values").narrow(1, 1, 2)));
    std::filesystem::remove_all(whole);
    std::filesystem::remove_all(split);
  }
  EXPECT_THROW(train(parse_config(kSmallRtb, {}, "."), options(fresh_dir("missing"), true), comm), Error);
}

// Gaussian prior (one component), Gaussian likelihood, 1-D: the posterior is N(m, v) with
// v = 1 / (1/s0 + a^2/s2), and log Z = log N(y; a mu0, a^2 s0 + s2). RTB must learn both; the
// tolerances cover the Monte Carlo error of 2000 evaluation samples and O(dt) discretisation bias.
TEST(Trainer, RtbLearnsTheExactGaussianPosterior) {
  LocalCommunicator comm;
  const auto dir = fresh_dir("gaussian");
  const Config config = parse_config(R"(
objective: rtb
process: {steps: 20, sigma2: 1.0}
prior: {kind: exact, mixture: {means: [[1.0]], variance: 0.5}}
reward: {kind: gaussian_likelihood, A: [[2.0]], y: [3.0], noise_variance: 1.0}
network: {hidden: 32, fourier_features: 16, layers: 1}
train: {iterations: 400, batch: 128, lr: 3.0e-3, log_every: 100, checkpoint_every: 400}
eval: {samples: 2000}
)",
                                     {}, ".");
  const auto metrics = train(config, options(dir), comm).metrics;
  const auto value = [&](const std::string& name) {
    for (const auto& [key, v] : metrics)
      if (key == name) return v;
    ADD_FAILURE() << name;
    return 0.0;
  };
  EXPECT_NEAR(value("log_z_exact"), -0.5 * std::log(2 * M_PI * 3.0) - 0.5 * 1.0 / 3.0, 1e-6);
  EXPECT_LT(std::abs(value("log_z_error")), 0.05);
  EXPECT_LT(std::abs(value("iw_log_z_error")), 0.05);
  EXPECT_LT(value("energy_distance"), 0.02);
  // The posterior N(4/3, 1/6): sample mean and variance within 4 standard errors (0.036 and 0.021 at
  // N = 2000), which the O(dt) bias of T = 20 steps must also fit in.
  const at::Tensor x = io::H5File::open_read(dir / run_files::kSamples).read("/samples").to(torch::kFloat64);
  ASSERT_EQ(x.size(0), 2000);
  EXPECT_NEAR(x.mean().item<double>(), 4.0 / 3.0, 4 * std::sqrt(1.0 / 6 / 2000));
  EXPECT_NEAR(x.var().item<double>(), 1.0 / 6, 4 * (1.0 / 6) * std::sqrt(2.0 / 1999));
  std::filesystem::remove_all(dir);
}

// The zero-drift sampler is exact for N(0, sigma2 I): ELBO, importance-weighted log Z and EUBO are
// all log Z = 0 on every path (float32 log-densities: 1e-4), and the sample distances sit at their
// exact-vs-exact noise level (within 3x, the two are independent draws of the same size).
TEST(Evaluate, ExactSamplerHasEveryEstimateAtLogZAndDistancesAtTheirNoiseFloor) {
  const Config config = parse_config(R"(
objective: tb
process: {steps: 20, sigma2: 5.0}
target: {kind: mixture, means: [[0.0, 0.0]], variance: 5.0}
network: {hidden: 16, fourier_features: 8, layers: 1}
)",
                                     {}, ".");
  Job job(config);
  LocalCommunicator comm;
  const Evaluation e = evaluate(job, comm, 2000);
  EXPECT_NEAR(e.metric("elbo"), 0.0, 1e-4);
  EXPECT_NEAR(e.metric("iw_log_z"), 0.0, 1e-4);
  EXPECT_NEAR(e.metric("eubo"), 0.0, 1e-4);
  EXPECT_LT(e.metric("sliced_w2"), 3 * e.metric("sliced_w2_exact_vs_exact"));
  EXPECT_GT(e.metric("sliced_w2_exact_vs_exact"), 0.0);
  EXPECT_EQ(e.metric("mode_tv_exact"), 0.0);  // one mode
}

// Sliced W2 of a set and its copy shifted by v: every projection shifts by v.u, so the distance is
// the root mean of (v.u)^2 over the unit directions.
TEST(Evaluate, SlicedWassersteinOfAShiftIsTheMeanSquaredProjectedShift) {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({500, 3}, torch::kFloat64),
                   v = torch::tensor({1.0, -2.0, 0.5}, torch::kFloat64);
  const at::Tensor directions = torch::randn({64, 3}, torch::kFloat64);
  const at::Tensor unit = directions / directions.norm(2, 1, true);
  const double expected = torch::matmul(unit, v).square().mean().sqrt().item<double>();
  EXPECT_NEAR(sliced_wasserstein2(x + v, x, directions), expected, 1e-9);
}

}  // namespace
}  // namespace tilt
