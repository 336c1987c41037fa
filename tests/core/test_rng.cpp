#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/rng.h"

namespace tilt {
namespace {

TEST(CounterRng, RowsDependOnlyOnTheirGlobalIndex) {
  const CounterRng rng(42);
  const at::Tensor all = rng.normal(RngStream::kRolloutNoise, 3, 7, 0, 10, 5);
  const at::Tensor tail = rng.normal(RngStream::kRolloutNoise, 3, 7, 4, 6, 5);
  EXPECT_TRUE(torch::equal(all.narrow(0, 4, 6), tail));
}

TEST(CounterRng, StreamsStepsAndSeedsDiffer) {
  const CounterRng rng(1), other(2);
  const at::Tensor base = rng.normal(RngStream::kRolloutNoise, 0, 0, 0, 4, 4);
  EXPECT_FALSE(torch::equal(base, rng.normal(RngStream::kBackwardNoise, 0, 0, 0, 4, 4)));
  EXPECT_FALSE(torch::equal(base, rng.normal(RngStream::kRolloutNoise, 0, 1, 0, 4, 4)));
  EXPECT_FALSE(torch::equal(base, rng.normal(RngStream::kRolloutNoise, 1, 0, 0, 4, 4)));
  EXPECT_FALSE(torch::equal(base, other.normal(RngStream::kRolloutNoise, 0, 0, 0, 4, 4)));
}

// 200k draws: the mean has standard error 1/sqrt(n) = 0.0022 and the variance sqrt(2/n) = 0.0032;
// tolerances are ~5 standard errors.
TEST(CounterRng, NormalsHaveUnitMomentsAndUniformsFillTheInterval) {
  const CounterRng rng(7);
  const at::Tensor z = rng.normal(RngStream::kEvaluation, 0, 0, 0, 50000, 4).to(torch::kFloat64);
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.011);
  EXPECT_NEAR(z.var().item<double>(), 1.0, 0.016);
  EXPECT_NEAR((z > 1.96).to(torch::kFloat64).mean().item<double>(), 0.025, 0.002);
  const at::Tensor u = rng.uniform(RngStream::kEvaluation, 0, 0, 0, 50000, 4);
  EXPECT_GT(u.min().item<float>(), 0.0f);
  EXPECT_LE(u.max().item<float>(), 1.0f);
  EXPECT_NEAR(u.to(torch::kFloat64).mean().item<double>(), 0.5, 0.004);
}

}  // namespace
}  // namespace tilt
