// Trajectory sources: the replay buffer's priorities and FIFO, MALA local search against a Gaussian
// it must leave invariant.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "model/gaussian_mixture.h"
#include "source/local_search.h"
#include "source/replay_buffer.h"
#include "target/mixture.h"

namespace tilt {
namespace {

// log R = [3, 1, 2]: ranks [0, 2, 1], so with k = 0.01 and |D| = 3 the weights are 1/(0.03 + rank).
TEST(ReplayBuffer, RankPrioritiesFollowTheFormula) {
  ReplayBuffer buffer(10, 1, ReplayPriority::kRank, 0.01);
  buffer.add(torch::zeros({3, 1}), torch::tensor({3.0f, 1.0f, 2.0f}));
  const std::vector<double> weight{1 / 0.03, 1 / 2.03, 1 / 1.03};
  const double total = weight[0] + weight[1] + weight[2];
  const at::Tensor p = buffer.probabilities();
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i].item<double>(), weight[i] / total, 1e-12);
}

// The rank order is kept by merging each batch in: after adds that wrap the ring several times (ties
// included), the probabilities equal those of a full stable sort of what the buffer holds.
TEST(ReplayBuffer, IncrementalRankOrderEqualsAFullSort) {
  ReplayBuffer buffer(37, 1, ReplayPriority::kRank, 0.01);
  torch::manual_seed(5);
  for (int batch = 0; batch < 9; ++batch)
    buffer.add(torch::zeros({11, 1}), torch::randint(0, 6, {11}).to(torch::kFloat32));  // many ties
  ASSERT_EQ(buffer.size(), 37);
  const at::Tensor log_r = buffer.log_reward(torch::arange(37)).to(torch::kFloat64);
  // Descending log R, ties by slot: sort by (-log R, slot).
  const at::Tensor key = -log_r * 1000 + torch::arange(37, torch::kFloat64);
  const at::Tensor order = std::get<1>(key.sort());
  at::Tensor rank = torch::empty({37}, torch::kFloat64);
  rank.index_put_({order}, torch::arange(37, torch::kFloat64));
  const at::Tensor weight = 1.0 / (0.01 * 37 + rank);
  EXPECT_TRUE(torch::allclose(buffer.probabilities(), weight / weight.sum(), 1e-12, 1e-15));
}

TEST(ReplayBuffer, RewardPrioritiesAreProportionalToR) {
  ReplayBuffer buffer(10, 1, ReplayPriority::kReward, 0.01);
  buffer.add(torch::zeros({2, 1}), torch::tensor({0.0f, std::log(3.0f)}));
  EXPECT_NEAR(buffer.probabilities()[1].item<double>(), 0.75, 1e-6);
}

// 200000 draws: each index's frequency within 4 standard errors of its probability, for every priority.
TEST(ReplayBuffer, DrawFrequenciesMatchTheProbabilities) {
  for (auto priority : {ReplayPriority::kUniform, ReplayPriority::kReward, ReplayPriority::kRank}) {
    ReplayBuffer buffer(50, 2, priority, 0.01);
    buffer.add(torch::randn({40, 2}), torch::linspace(-3, 1, 40));
    const int64_t n = 200000;
    const at::Tensor drawn = buffer.draw(CounterRng(1), 0, 0, 0, n);
    const at::Tensor frequency = torch::bincount(drawn, {}, 40).to(torch::kFloat64) / n;
    const at::Tensor p = buffer.probabilities();
    const at::Tensor tolerance = 4 * (p * (1 - p) / n).sqrt() + 1e-9;
    EXPECT_TRUE(((frequency - p).abs() <= tolerance).all().item<bool>())
        << "priority " << static_cast<int>(priority) << ": worst "
        << ((frequency - p).abs() / tolerance).max();
    // A shard of the draw is the same rows of the whole draw (ranks draw their own rows).
    EXPECT_TRUE(torch::equal(buffer.draw(CounterRng(1), 0, 0, 1000, 7), drawn.narrow(0, 1000, 7)));
  }
}

TEST(ReplayBuffer, EvictsTheOldestRowsFirst) {
  ReplayBuffer buffer(4, 1, ReplayPriority::kUniform, 0.01);
  buffer.add(torch::arange(3, torch::kFloat32).unsqueeze(1), torch::zeros({3}));
  buffer.add(torch::arange(3, 6, torch::kFloat32).unsqueeze(1), torch::zeros({3}));
  EXPECT_EQ(buffer.size(), 4);
  const at::Tensor held = std::get<0>(buffer.states(torch::arange(4)).squeeze(1).sort());
  EXPECT_TRUE(torch::equal(held, torch::tensor({2.0f, 3.0f, 4.0f, 5.0f})));
}

MixtureConfig gaussian_2d() {
  MixtureConfig config;
  config.means = {{1.0, -2.0}};
  config.weights = {1.0};
  config.variances = {0.5};
  return config;
}

// MALA with a fixed step leaves N((1, -2), 0.5 I) invariant: chains started at exact samples keep
// its mean and variance after 200 steps (4000 chains: 4 standard errors 0.045 and 0.045).
TEST(LocalSearch, MalaLeavesAGaussianInvariant) {
  const MixtureTarget target(GaussianMixture::isotropic(gaussian_2d()));
  LocalSearchOptions options;
  options.steps = 200;
  options.burn_in = 100;
  options.step_size = 0.3;
  options.adapt = 0.0;
  LocalSearch search(options, target);
  const int64_t chains = 4000;
  const at::Tensor start = target.truth()->sample(CounterRng(2), 0, 0, chains);
  LocalCommunicator comm;
  const LocalSearch::Result result = search.run(start, CounterRng(2), 0, 0, comm);
  const at::Tensor x = result.states.to(torch::kFloat64);
  ASSERT_GT(x.size(0), 100 * chains / 4);
  // The kept states are correlated along each chain; the last step's accepted states are independent
  // across chains.
  const at::Tensor last = x.index({result.step_and_row.select(1, 0) == 199});
  ASSERT_GT(last.size(0), chains / 4);
  const double se_mean = std::sqrt(0.5 / last.size(0)), se_var = 0.5 * std::sqrt(2.0 / last.size(0));
  EXPECT_NEAR(last.select(1, 0).mean().item<double>(), 1.0, 4 * se_mean);
  EXPECT_NEAR(last.select(1, 1).mean().item<double>(), -2.0, 4 * se_mean);
  EXPECT_NEAR(last.var(0).mean().item<double>(), 0.5, 4 * se_var);
  EXPECT_EQ(search.step_size(), 0.3);
}

// With adaptation the step size settles where the acceptance is 0.574: the last 50 steps' pooled
// acceptance (steps 150..199 of 200) is within 0.05 of it, from a step size 100x too small.
TEST(LocalSearch, StepSizeAdaptsToTheTargetAcceptance) {
  const MixtureTarget target(GaussianMixture::isotropic(gaussian_2d()));
  LocalSearchOptions options;
  options.steps = 200;
  options.burn_in = 150;
  options.step_size = 0.005;
  LocalSearch search(options, target);
  const int64_t chains = 2000;
  LocalCommunicator comm;
  const LocalSearch::Result result =
      search.run(target.truth()->sample(CounterRng(3), 0, 0, chains), CounterRng(3), 0, 0, comm);
  const double late_acceptance = static_cast<double>(result.states.size(0)) / (50.0 * chains);
  EXPECT_NEAR(late_acceptance, 0.574, 0.05);
  EXPECT_GT(search.step_size(), 0.1);
}

}  // namespace
}  // namespace tilt
