#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config.h"
#include "model/gaussian_mixture.h"
#include "objective/rtb.h"
#include "objective/tb.h"
#include "target/target.h"
#include "train/rollout.h"

namespace tilt {
namespace {

class ZeroLogReward final : public LogReward {
 public:
  at::Tensor operator()(const at::Tensor& x) const override { return torch::zeros({x.size(0)}); }
};

struct RtbSetup {
  PinnedBrownian process{25, 5.0};
  GaussianMixture prior = GaussianMixture::isotropic(parse_config(R"(
objective: rtb
prior: {kind: exact, mixture: {preset: gmm25}}
reward: {kind: gaussian_likelihood, y: [-6, 2], noise_variance: 9}
)",
                                                                  {}, ".")
                                                         .prior.mixture);
  MixtureFollmerDrift prior_drift{prior, 5.0};
  FourierMlp correction{2, NetworkConfig{}};
  at::Tensor log_z = torch::zeros({}).requires_grad_(true);
};

std::vector<at::Tensor> gradients(FourierMlp& network, const at::Tensor& log_z) {
  std::vector<at::Tensor> out;
  for (const auto& p : network->parameters()) out.push_back(p.grad().clone());
  out.push_back(log_z.grad().clone());
  return out;
}

void clear(FourierMlp& network, at::Tensor& log_z) {
  for (auto& p : network->parameters()) p.mutable_grad() = at::Tensor();
  log_z.mutable_grad() = at::Tensor();
}

// Posterior = prior (zero correction), r = 1 and log Z = 0: every residual is exactly 0, explored or not.
TEST(Rtb, LossIsZeroAtInitialisationWithUnitReward) {
  RtbSetup s;
  RtbObjective objective(s.process, s.correction, s.log_z, 1.0, std::nullopt, 0);
  const NetworkDrift learned(s.correction);
  for (double exploration : {0.0, 0.5}) {
    const Trajectory paths = rollout_forward(s.process, 2, &s.prior_drift, learned, ZeroLogReward(),
                                             CounterRng(1), 0, {64, 0, 64}, exploration);
    const LossStats stats = objective.accumulate_gradients(paths, 64);
    EXPECT_EQ(stats.loss_sum, 0.0);
    EXPECT_EQ(stats.residual_square_sum, 0.0);
  }
}

// At initialisation the residual is log Z - beta log r: its mean is 0 exactly at log Z = E[beta log r].
TEST(Rtb, ResidualAtInitialisationIsLogZMinusLogReward) {
  RtbSetup s;
  const GaussianLikelihood likelihood(torch::eye(2, torch::kFloat64),
                                      torch::tensor({-6.0, 2.0}, torch::kFloat64), 9);
  RtbObjective objective(s.process, s.correction, s.log_z, 2.0, std::nullopt, 0);
  const Trajectory paths = rollout_forward(s.process, 2, &s.prior_drift, NetworkDrift(s.correction),
                                           likelihood, CounterRng(2), 0, {32, 0, 32}, 0.0);
  const LossStats stats = objective.accumulate_gradients(paths, 32);
  EXPECT_NEAR(stats.residual_sum / 32, -2.0 * paths.log_reward.mean().item<double>(), 1e-4);
  // d loss / d log Z = mean residual.
  EXPECT_NEAR(s.log_z.grad().item<double>(), stats.residual_sum / 32, 1e-4);
}

// Chunked scoring (two passes, bounded memory) gives the gradients of the one-pass loss.
TEST(Rtb, ChunkedScoringGivesTheSameGradients) {
  RtbSetup s;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : s.correction->parameters()) p.add_(0.05 * torch::randn_like(p));
    s.log_z.fill_(-3.0);
  }
  const GaussianLikelihood likelihood(torch::eye(2, torch::kFloat64),
                                      torch::tensor({-6.0, 2.0}, torch::kFloat64), 9);
  const Trajectory paths = rollout_forward(s.process, 2, &s.prior_drift, NetworkDrift(s.correction),
                                           likelihood, CounterRng(3), 0, {48, 0, 48}, 0.3);
  RtbObjective whole(s.process, s.correction, s.log_z, 1.0, -10.0, 0);
  const LossStats a = whole.accumulate_gradients(paths, 100);
  const auto expected = gradients(s.correction, s.log_z);
  clear(s.correction, s.log_z);
  RtbObjective chunked(s.process, s.correction, s.log_z, 1.0, -10.0, 7);
  const LossStats b = chunked.accumulate_gradients(paths, 100);
  const auto actual = gradients(s.correction, s.log_z);
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-4 * (1 + std::abs(a.loss_sum)));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_TRUE(torch::allclose(actual[i], expected[i], 1e-4, 1e-6)) << "parameter " << i;
}

TEST(Tb, ChunkedScoringGivesTheSameGradientsAndZeroDriftRecoversTheTerminalGaussian) {
  const PinnedBrownian process(20, 5.0);
  FourierMlp policy(2, NetworkConfig{});
  at::Tensor log_z = torch::zeros({}).requires_grad_(true);
  // R = N(0, 5 I): with the zero-drift initial policy TB holds exactly with log Z = 0.
  MixtureConfig gaussian;
  gaussian.means = {{0.0, 0.0}};
  gaussian.weights = {1.0};
  gaussian.variances = {5.0};
  const MixtureDensity density(GaussianMixture::isotropic(gaussian));
  const Trajectory paths =
      rollout_forward(process, 2, nullptr, NetworkDrift(policy), density, CounterRng(4), 0, {40, 0, 40}, 0.0);
  TbObjective whole(process, policy, log_z, 0);
  const LossStats a = whole.accumulate_gradients(paths, 40);
  EXPECT_LT(a.residual_square_sum / 40, 1e-6);

  {
    torch::NoGradGuard no_grad;
    for (auto& p : policy->parameters()) p.add_(0.05 * torch::randn_like(p));
  }
  clear(policy, log_z);
  whole.accumulate_gradients(paths, 40);
  const auto expected = gradients(policy, log_z);
  clear(policy, log_z);
  TbObjective chunked(process, policy, log_z, 6);
  chunked.accumulate_gradients(paths, 40);
  const auto actual = gradients(policy, log_z);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_TRUE(torch::allclose(actual[i], expected[i], 1e-4, 1e-6)) << "parameter " << i;
}

}  // namespace
}  // namespace tilt
