#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/rng.h"
#include "model/drift.h"
#include "process/pinned_brownian.h"
#include "source/rollout.h"

namespace tilt {
namespace {

class ZeroDrift final : public Drift {
 public:
  at::Tensor operator()(const at::Tensor& x, const at::Tensor&) const override {
    return torch::zeros_like(x);
  }
};

TEST(PinnedBrownian, ForwardLogProbIsTheGaussianDensity) {
  const PinnedBrownian process(10, 2.0);
  const at::Tensor x = torch::tensor({{{0.5f, -1.0f}}}), next = torch::tensor({{{0.7f, -0.6f}}});
  const at::Tensor drift = torch::tensor({{{1.0f, 2.0f}}});
  const double variance = 0.1 * 2.0;
  const double r0 = 0.7 - 0.5 - 0.1 * 1.0, r1 = -0.6 + 1.0 - 0.1 * 2.0;
  const double expected = -0.5 * (r0 * r0 + r1 * r1) / variance - std::log(2 * M_PI * variance);
  EXPECT_NEAR(process.forward_log_prob(x, next, drift, 0).item<double>(), expected, 1e-5);
}

// The drift-difference form equals the difference of the two Gaussian log-densities.
TEST(PinnedBrownian, LogRatioEqualsDifferenceOfLogProbs) {
  torch::manual_seed(0);
  const PinnedBrownian process(20, 5.0);
  const at::Tensor x = torch::randn({3, 8, 2}, torch::kFloat64),
                   next = x + 0.3 * torch::randn({3, 8, 2}, torch::kFloat64);
  const at::Tensor reference = torch::randn({3, 8, 2}, torch::kFloat64) * 4;
  const at::Tensor correction = torch::randn({3, 8, 2}, torch::kFloat64) * 4;
  const at::Tensor direct = process.forward_log_prob(x, next, reference + correction, 0) -
                            process.forward_log_prob(x, next, reference, 0);
  const at::Tensor ratio = process.log_ratio(x, next, reference, correction, 0);
  EXPECT_TRUE(torch::allclose(ratio, direct, 1e-9, 1e-9)) << (ratio - direct).abs().max();
}

// A learned log-variance v scales the step's variance by exp(v) per dimension.
TEST(PinnedBrownian, ForwardLogProbWithLearnedVarianceIsTheGaussianDensity) {
  const PinnedBrownian process(10, 2.0);
  const at::Tensor x = torch::tensor({{{0.5f, -1.0f}}}), next = torch::tensor({{{0.7f, -0.6f}}});
  const at::Tensor drift = torch::tensor({{{1.0f, 2.0f}}}), log_variance = torch::tensor({{{0.4f, -1.3f}}});
  const double v0 = 0.1 * 2.0 * std::exp(0.4), v1 = 0.1 * 2.0 * std::exp(-1.3);
  const double r0 = 0.7 - 0.5 - 0.1 * 1.0, r1 = -0.6 + 1.0 - 0.1 * 2.0;
  const double expected =
      -0.5 * (r0 * r0 / v0 + r1 * r1 / v1) - 0.5 * std::log(2 * M_PI * v0) - 0.5 * std::log(2 * M_PI * v1);
  EXPECT_NEAR(process.forward_log_prob(x, next, {drift, log_variance}, 0).item<double>(), expected, 1e-5);
}

// ... and the log-ratio against a fixed-variance reference is still the difference of the densities.
TEST(PinnedBrownian, LogRatioWithLearnedVarianceEqualsDifferenceOfLogProbs) {
  torch::manual_seed(1);
  const PinnedBrownian process(20, 5.0);
  const at::Tensor x = torch::randn({3, 8, 2}, torch::kFloat64),
                   next = x + 0.3 * torch::randn({3, 8, 2}, torch::kFloat64);
  const at::Tensor reference = torch::randn({3, 8, 2}, torch::kFloat64) * 4;
  const at::Tensor correction = torch::randn({3, 8, 2}, torch::kFloat64) * 4;
  const at::Tensor log_variance = torch::randn({3, 8, 2}, torch::kFloat64);
  const at::Tensor direct = process.forward_log_prob(x, next, {reference + correction, log_variance}, 0) -
                            process.forward_log_prob(x, next, reference, 0);
  const at::Tensor ratio = process.log_ratio(x, next, reference, {correction, log_variance}, 0);
  EXPECT_TRUE(torch::allclose(ratio, direct, 1e-9, 1e-9)) << (ratio - direct).abs().max();
}

// A forward step's increment has variance dt sigma2 exp(v) + exploration^2 (20k draws: the relative
// standard error of a variance is sqrt(2 / 20000) = 1%, the tolerance 4%).
TEST(PinnedBrownian, ForwardStepDrawsFromTheLearnedVarianceWidenedByExploration) {
  const PinnedBrownian process(10, 2.0);
  const int64_t n = 20000;
  const CounterRng rng(7);
  const at::Tensor noise = rng.normal(RngStream::kRolloutNoise, 0, 0, 0, n, 2);
  const at::Tensor x = torch::zeros({n, 2}), drift = torch::ones({n, 2});
  const at::Tensor log_variance = torch::tensor({0.7f, -0.9f}).expand({n, 2});
  const at::Tensor next = process.forward_step(x, {drift, log_variance}, 0, noise, 0.3).to(torch::kFloat64);
  const double expected0 = 0.2 * std::exp(0.7) + 0.09, expected1 = 0.2 * std::exp(-0.9) + 0.09;
  EXPECT_NEAR(next.select(1, 0).var().item<double>() / expected0, 1.0, 0.04);
  EXPECT_NEAR(next.select(1, 1).var().item<double>() / expected1, 1.0, 0.04);
  EXPECT_NEAR(next.mean(0)[0].item<double>(), 0.1, 4 * std::sqrt(expected0 / n));
}

// With zero drift, sum log p_F - sum log p_B = log N(x_1; 0, sigma2 I) on every trajectory, any T.
TEST(PinnedBrownian, ZeroDriftPathRatioIsTheTerminalGaussian) {
  for (int steps : {1, 7, 100}) {
    const PinnedBrownian process(steps, 5.0);
    const ZeroDrift zero;
    const CounterRng rng(3);
    const Trajectory paths = rollout_forward(process, 3, nullptr, zero, rng, 0, {64, 0, 64}, 0.0);
    const at::Tensor x = paths.states.narrow(0, 0, steps), next = paths.states.narrow(0, 1, steps);
    const at::Tensor path = (process.forward_log_prob(x, next, torch::zeros_like(x), 0) -
                             process.backward_log_prob(x, next, 0, {}))
                                .sum(0)
                                .to(torch::kFloat64);
    const at::Tensor x1 = paths.states[steps].to(torch::kFloat64);
    const at::Tensor expected = -0.5 * x1.square().sum(-1) / 5.0 - 1.5 * std::log(2 * M_PI * 5.0);
    EXPECT_TRUE(torch::allclose(path, expected, 1e-4, 2e-3))
        << "T=" << steps << " max err " << (path - expected).abs().max();
  }
}

// Backward bridge steps from a fixed x_1 have the bridge's exact marginal at t_i: mean t_i x_1 and
// variance sigma2 t_i (1 - t_i). 20k paths: the standard error of the mean is ~0.008.
TEST(PinnedBrownian, BackwardBridgeHasTheBrownianBridgeMarginals) {
  const PinnedBrownian process(10, 2.0);
  const CounterRng rng(5);
  const int64_t n = 20000;
  const at::Tensor terminal = torch::full({n, 1}, 3.0f);
  const Trajectory paths = rollout_backward(process, terminal, rng, 0, {n, 0, n});
  EXPECT_TRUE(torch::equal(paths.states[0], torch::zeros({n, 1})));
  const at::Tensor x = paths.states[4].to(torch::kFloat64);
  EXPECT_NEAR(x.mean().item<double>(), 0.4 * 3.0, 0.03);
  EXPECT_NEAR(x.var().item<double>(), 2.0 * 0.4 * 0.6, 0.03);
}

// A learned correction multiplies the bridge's shrink x_{i+1} / (i + 1) and its variance; step 0 stays
// the point mass (log p_B = 0) whatever the factors.
TEST(PinnedBrownian, BackwardLogProbWithACorrectionIsTheGaussianDensity) {
  const PinnedBrownian process(10, 2.0);
  const at::Tensor x = torch::tensor({0.3f, -0.2f, 0.9f, 0.4f}).view({2, 1, 2});
  const at::Tensor next = torch::tensor({0.5f, 0.1f, 1.2f, 0.2f}).view({2, 1, 2});
  const at::Tensor shrink = torch::tensor({1.3f, 0.8f, 0.6f, 1.1f}).view({2, 1, 2});
  const at::Tensor variance = torch::tensor({0.7f, 1.4f, 1.2f, 0.9f}).view({2, 1, 2});
  const at::Tensor log_prob = process.backward_log_prob(x, next, 0, {shrink, variance});
  EXPECT_EQ(log_prob[0][0].item<float>(), 0.0f);  // step 0
  // Step 1: mean x_2 - x_2 / 2 * shrink, variance (1/2) dt sigma2 * factor.
  double expected = 0;
  const double xs[2] = {0.9, 0.4}, ns[2] = {1.2, 0.2}, ss[2] = {0.6, 1.1}, vs[2] = {1.2, 0.9};
  for (int d = 0; d < 2; ++d) {
    const double mean = ns[d] - 0.5 * ns[d] * ss[d], var = 0.5 * 0.1 * 2.0 * vs[d];
    expected += -0.5 * (xs[d] - mean) * (xs[d] - mean) / var - 0.5 * std::log(2 * M_PI * var);
  }
  EXPECT_NEAR(log_prob[1][0].item<double>(), expected, 1e-5);
  // Factors of 1 are the fixed bridge.
  const at::Tensor ones = torch::ones_like(x);
  EXPECT_TRUE(torch::allclose(process.backward_log_prob(x, next, 3, {ones, ones}),
                              process.backward_log_prob(x, next, 3, {}), 1e-6, 1e-6));
}

// A corrected backward step draws from N(x_{i+1} (1 - shrink / (i + 1)), i / (i + 1) dt sigma2 factor):
// 20k draws, tolerances of 4 standard errors.
TEST(PinnedBrownian, BackwardStepDrawsFromTheCorrectedKernel) {
  const PinnedBrownian process(10, 2.0);
  const int64_t n = 20000;
  const CounterRng rng(9);
  const at::Tensor noise = rng.normal(RngStream::kBackwardNoise, 0, 4, 0, n, 1);
  const at::Tensor next = torch::full({n, 1}, 2.0f);
  const at::Tensor next_step =
      process.backward_step(next, 4, noise, {torch::full({n, 1}, 1.5f), torch::full({n, 1}, 0.6f)})
          .to(torch::kFloat64);
  const double mean = 2.0 - 2.0 / 5 * 1.5, variance = 0.8 * 0.1 * 2.0 * 0.6;
  EXPECT_NEAR(next_step.mean().item<double>(), mean, 4 * std::sqrt(variance / n));
  EXPECT_NEAR(next_step.var().item<double>() / variance, 1.0, 4 * std::sqrt(2.0 / n));
}

// The reference marginal at step i is N(0, sigma2 t_i I), and at step 0 (a point mass) that of step 1.
TEST(PinnedBrownian, ReferenceMarginalIsTheZeroDriftMarginal) {
  const PinnedBrownian process(10, 2.0);
  const at::Tensor x = torch::tensor({0.3f, -1.2f, 0.7f, 0.1f}).view({2, 1, 2});
  const at::Tensor log_q = process.reference_log_marginal(x, 0);
  for (int i = 0; i < 2; ++i) {
    const double variance = 2.0 * 0.1 * std::max(1, i);
    const double r2 = x[i].square().sum().item<double>();
    EXPECT_NEAR(log_q[i][0].item<double>(), -0.5 * r2 / variance - std::log(2 * M_PI * variance), 1e-5);
  }
}

}  // namespace
}  // namespace tilt
