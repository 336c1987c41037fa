#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/config.h"
#include "model/fourier_mlp.h"
#include "model/gaussian_mixture.h"
#include "model/guidance_drift.h"
#include "model/langevin_drift.h"
#include "target/posterior.h"

namespace tilt {
namespace {

MixtureConfig three_modes() {
  MixtureConfig config;
  config.means = {{-4.0, 1.0}, {0.0, 3.0}, {5.0, -2.0}};
  config.weights = {0.2, 0.5, 0.3};
  config.variances = {0.3, 1.0, 0.6};
  return config;
}

// The Föllmer drift is the Doob h-transform of the zero-drift reference, whose marginal is
// N(0, sigma2 t I): u = sigma2 grad log p_t(x) + x / t. Checked element by element by float64
// central differences of the noised marginal (truncation error ~h^2 = 1e-8), including t = 1 where
// the closed form must stay finite; the float32 drift is held to 1e-4 relative.
TEST(MixtureFollmerDrift, MatchesTheGradientOfTheLogNoisedMarginal) {
  const double sigma2 = 5.0;
  const MixtureFollmerDrift drift(GaussianMixture::isotropic(three_modes()), sigma2);
  torch::manual_seed(1);
  const at::Tensor t = torch::tensor({0.05f, 0.5f, 0.99f, 1.0f});
  const at::Tensor x = (torch::randn({4, 16, 2}) * 3).to(torch::kFloat64);
  const at::Tensor u = drift(x.to(torch::kFloat32), t).to(torch::kFloat64);
  const double h = 1e-4;
  for (int d = 0; d < 2; ++d) {
    at::Tensor step = torch::zeros({1, 1, 2}, torch::kFloat64);
    step[0][0][d] = h;
    const at::Tensor gradient = (drift.log_marginal(x + step, t) - drift.log_marginal(x - step, t)) / (2 * h);
    const at::Tensor expected = sigma2 * gradient + x.select(-1, d) / t.view({4, 1}).to(torch::kFloat64);
    const at::Tensor relative = (u.select(-1, d) - expected).abs() / (1 + expected.abs());
    EXPECT_LT(relative.max().item<double>(), 1e-4) << "dimension " << d;
  }
  EXPECT_TRUE(torch::isfinite(u).all().item<bool>());
}

TEST(MixtureFollmerDrift, AtTimeZeroIsTheMixtureMean) {
  const MixtureFollmerDrift drift(GaussianMixture::isotropic(three_modes()), 5.0);
  const at::Tensor u = drift(torch::zeros({1, 2, 2}), torch::zeros({1}));
  EXPECT_NEAR(u[0][0][0].item<float>(), 0.2 * -4 + 0.3 * 5, 1e-5);
  EXPECT_NEAR(u[0][1][1].item<float>(), 0.2 * 1 + 0.5 * 3 + 0.3 * -2, 1e-5);
}

// In 1-D the exact posterior of a mixture prior under y = a x + noise is checked against a
// Riemann sum of prior(x) * likelihood(x) on a fine grid (error far below 1e-6 at this spacing).
TEST(GaussianLikelihood, PosteriorMatchesNumericalIntegrationIn1D) {
  MixtureConfig prior_config;
  prior_config.means = {{-3.0}, {1.0}, {4.0}};
  prior_config.weights = {0.5, 0.3, 0.2};
  prior_config.variances = {0.5, 1.5, 0.2};
  const GaussianMixture prior = GaussianMixture::isotropic(prior_config);
  const double a = 1.7, y = 2.5, s2 = 2.0;
  const GaussianLikelihood likelihood(torch::tensor({{a}}, torch::kFloat64),
                                      torch::tensor({y}, torch::kFloat64), s2);
  const MixtureTruth truth = *likelihood.posterior(prior, 1.0);

  const at::Tensor grid = torch::linspace(-15, 15, 300001, torch::kFloat64).unsqueeze(1);
  const double dx = 30.0 / 300000;
  const at::Tensor log_joint = prior.log_prob(grid) + likelihood.log_reward(grid);
  const double log_z = (torch::logsumexp(log_joint, 0) + std::log(dx)).item<double>();
  EXPECT_NEAR(truth.log_z(), log_z, 1e-6);
  const at::Tensor posterior = (log_joint - log_z).exp();
  const double mean = (posterior * grid.squeeze(1)).sum().item<double>() * dx;
  const at::Tensor exact_density = truth.log_density(grid).exp();
  const double exact_mean = (exact_density * grid.squeeze(1)).sum().item<double>() * dx;
  EXPECT_NEAR(exact_mean, mean, 1e-6);
  EXPECT_LT((exact_density - posterior).abs().max().item<double>(), 1e-6);
}

TEST(GaussianLikelihood, DefaultJobLogZ) {
  Config config = parse_config(R"(
objective: rtb
prior: {kind: exact, mixture: {preset: gmm25}}
reward: {kind: gaussian_likelihood, y: [-6, 2], noise_variance: 9}
)",
                               {}, ".");
  EXPECT_NEAR(make_target(config)->truth()->log_z(), -6.44692, 1e-4);
}

TEST(GaussianMixture, SamplesHaveTheMixtureMoments) {
  const GaussianMixture mixture = GaussianMixture::isotropic(three_modes());
  const at::Tensor x = mixture.sample(CounterRng(9), 0, 0, 40000).to(torch::kFloat64);
  // Mean = sum w mu = (0.7, 1.1); the standard error is ~0.02, tolerance 0.08.
  EXPECT_NEAR(x.select(1, 0).mean().item<double>(), 0.7, 0.08);
  EXPECT_NEAR(x.select(1, 1).mean().item<double>(), 1.1, 0.08);
  const at::Tensor assigned = mixture.component_log_joint(x).argmax(1);
  EXPECT_NEAR((assigned == 1).to(torch::kFloat64).mean().item<double>(), 0.5, 0.02);
}

TEST(FourierMlp, StartsAsTheZeroDriftAndHasTheDocumentedFlops) {
  NetworkConfig config;
  FourierMlp network(2, config);
  const at::Tensor u = network->forward(torch::randn({3, 5, 2}), torch::tensor({0.0f, 0.5f, 1.0f}));
  EXPECT_EQ(u.sizes(), (at::IntArrayRef{3, 5, 2}));
  EXPECT_EQ(u.abs().max().item<float>(), 0.0f);
  EXPECT_DOUBLE_EQ(network->flops_per_sample(), 2.0 * (2 * 64 + 2 * 64 * 64 + 64 * 2));
}

// With a log-variance range the network has 2D outputs: the first D are the drift, the last D become
// range tanh(.), which starts at 0 and never leaves [-range, range] whatever the weights.
TEST(NetworkDrift, LearnedVarianceStartsAtTheProcessVarianceAndStaysInItsRange) {
  NetworkConfig config;
  config.log_variance_range = 1.5;
  const NetworkDrift drift(3, config);
  const at::Tensor x = torch::randn({2, 7, 3}), t = torch::tensor({0.2f, 0.8f});
  StepKernel kernel = drift.kernel(x, t);
  ASSERT_TRUE(kernel.learned_variance());
  EXPECT_EQ(kernel.drift.sizes(), x.sizes());
  EXPECT_EQ(kernel.log_variance.abs().max().item<float>(), 0.0f);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : drift.parameters())
      if (p.name == "out.bias") p.tensor.copy_(torch::tensor({0.0f, 0.0f, 0.0f, 40.0f, -40.0f, 0.3f}));
  }
  kernel = drift.kernel(x, t);
  EXPECT_NEAR(kernel.log_variance[0][0][0].item<double>(), 1.5, 1e-6);
  EXPECT_NEAR(kernel.log_variance[1][3][1].item<double>(), -1.5, 1e-6);
  EXPECT_NEAR(kernel.log_variance[0][5][2].item<double>(), 1.5 * std::tanh(0.3), 1e-6);
  EXPECT_TRUE(torch::equal(drift(x, t), kernel.drift));
  EXPECT_FALSE(NetworkDrift(3, NetworkConfig{}).kernel(x, t).learned_variance());
}

// At initialisation NN1 = 0 and NN2 = 0.01: u = 0.01 clip(grad log R). The scale's bias receives
// d(sum u)/d bias = sum of the clipped scores; the drift clip bounds u.
TEST(LangevinDrift, StartsAtAHundredthOfTheClippedScoreAndLearnsItsScale) {
  NetworkConfig network;
  network.langevin = LangevinConfig{};
  network.langevin->gradient_clip = 3.0;
  const auto score = [](const at::Tensor& x) { return -4.0 * x; };  // grad log N(0, 1/4)
  const LangevinDrift drift(2, network, score);
  const at::Tensor x = torch::tensor({0.5f, -0.2f, 2.0f, 0.1f}).view({2, 1, 2});
  const at::Tensor t = torch::tensor({0.3f, 0.9f});
  const at::Tensor u = drift(x, t);
  const at::Tensor clipped = (-4.0 * x).clamp(-3.0, 3.0);
  EXPECT_TRUE(torch::allclose(u, 0.01 * clipped, 1e-6, 1e-7)) << u;
  u.sum().backward();
  bool found = false;
  for (const auto& p : drift.parameters())
    if (p.name == "langevin_scale.out.bias") {
      EXPECT_NEAR(p.tensor.grad().item<double>(), clipped.sum().item<double>(), 1e-5);
      found = true;
    }
  EXPECT_TRUE(found);
  network.langevin->drift_clip = 0.005;
  EXPECT_LE(LangevinDrift(2, network, score)(x, t).abs().max().item<float>(), 0.005f);
}

// Guidance: u = scale sigma2 (i / (i + 1)) grad log R, i = t / dt; no guidance at the start state.
TEST(GuidanceDrift, IsTheScaledScoreWeightedByTheStepFraction) {
  const auto score = [](const at::Tensor& x) { return -2.0 * x; };
  const GuidanceDrift drift(score, 1.5, 5.0, 0.01);
  const at::Tensor x = torch::tensor({0.5f, -0.2f, 2.0f, 0.1f}).view({2, 1, 2});
  const at::Tensor u = drift(x, torch::tensor({0.0f, 0.03f}));
  EXPECT_EQ(u[0].abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(u[1], 1.5 * 5.0 * 0.75 * -2.0 * x[1], 1e-5, 1e-6)) << u;
  EXPECT_TRUE(drift.parameters().empty());
}

}  // namespace
}  // namespace tilt
