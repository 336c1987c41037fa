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

// With zero drift, sum log p_F - sum log p_B = log N(x_1; 0, sigma2 I) on every trajectory, any T.
TEST(PinnedBrownian, ZeroDriftPathRatioIsTheTerminalGaussian) {
  for (int steps : {1, 7, 100}) {
    const PinnedBrownian process(steps, 5.0);
    const ZeroDrift zero;
    const CounterRng rng(3);
    const Trajectory paths = rollout_forward(process, 3, nullptr, zero, rng, 0, {64, 0, 64}, 0.0);
    const at::Tensor x = paths.states.narrow(0, 0, steps), next = paths.states.narrow(0, 1, steps);
    const at::Tensor path =
        (process.forward_log_prob(x, next, torch::zeros_like(x), 0) - process.backward_log_prob(x, next, 0))
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
