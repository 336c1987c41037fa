// The fused engine against the LibTorch path of the same network and weights: outputs and every
// parameter's gradient of a loss through them, learned variance included; the fused mixture drift.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config.h"
#include "model/fourier_mlp.h"
#include "model/gaussian_mixture.h"

namespace tilt {
namespace {

NetworkConfig network_config(bool fused) {
  NetworkConfig config;
  config.hidden = 32;
  config.fourier_features = 16;
  config.layers = 2;
  config.fused = fused;
  return config;
}

// Both networks with the same random (non-zero) weights.
void randomise_like(FourierMlpImpl& fused, FourierMlpImpl& plain) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  auto a = fused.named_parameters(), b = plain.named_parameters();
  for (const auto& item : a) {
    item.value().copy_(torch::randn_like(item.value()) * 0.5);
    b[item.key()].copy_(item.value());
  }
}

TEST(FusedNetwork, OutputsAndParameterGradientsEqualTheLibTorchPath) {
  for (const int outputs : {2, 4}) {  // a drift, and a drift with its learned log-variance
    FourierMlpImpl fused(2, network_config(true), outputs), plain(2, network_config(false), outputs);
    ASSERT_NE(fused.fused(), nullptr);
    ASSERT_EQ(plain.fused(), nullptr);
    randomise_like(fused, plain);
    const at::Tensor x = torch::randn({7, 53, 2}) * 3, t = torch::rand({7});
    const at::Tensor weight = torch::randn({7, 53, outputs});
    const at::Tensor out_fused = fused.forward(x, t), out_plain = plain.forward(x, t);
    EXPECT_LT((out_fused - out_plain).abs().max().item<double>(),
              1e-4 * (1 + out_plain.abs().max().item<double>()));
    (out_fused * weight).sum().backward();
    (out_plain * weight).sum().backward();
    auto pf = fused.named_parameters(), pp = plain.named_parameters();
    for (const auto& item : pf) {
      ASSERT_TRUE(item.value().grad().defined()) << item.key();
      const at::Tensor expected = pp[item.key()].grad();
      // float32 sums over 371 rows of O(1) terms.
      EXPECT_LT((item.value().grad() - expected).abs().max().item<double>(),
                2e-4 * (1 + expected.abs().max().item<double>()))
          << item.key() << " outputs " << outputs;
    }
  }
}

// Scoring reuses the fused rollout's outputs (extras::kPolicyOutput) in place of a second forward:
// the same values, and the same parameter gradients as a forward that computes them.
TEST(FusedNetwork, ReusedRolloutOutputsGiveTheSameGradients) {
  FourierMlpImpl computed(2, network_config(true)), reused(2, network_config(true));
  randomise_like(computed, reused);
  const at::Tensor x = torch::randn({5, 41, 2}) * 3, t = torch::rand({5}), weight = torch::randn({5, 41, 2});
  at::Tensor known;
  {
    torch::NoGradGuard no_grad;
    known = computed.forward(x, t);
  }
  const at::Tensor out_computed = computed.forward(x, t), out_reused = reused.forward(x, t, known);
  EXPECT_TRUE(torch::equal(out_computed, out_reused));
  (out_computed * weight).sum().backward();
  (out_reused * weight).sum().backward();
  auto pc = computed.named_parameters(), pr = reused.named_parameters();
  for (const auto& item : pc)
    EXPECT_TRUE(torch::equal(item.value().grad(), pr[item.key()].grad())) << item.key();
  EXPECT_THROW(reused.forward(x, t, known.narrow(0, 0, 4)), std::exception);
}

TEST(FusedNetwork, NoGradForwardAndGradientsIntoStatesFallBack) {
  FourierMlpImpl fused(2, network_config(true)), plain(2, network_config(false));
  randomise_like(fused, plain);
  const at::Tensor t = torch::rand({3});
  {
    torch::NoGradGuard no_grad;
    const at::Tensor x = torch::randn({3, 20, 2});
    EXPECT_LT((fused.forward(x, t) - plain.forward(x, t)).abs().max().item<double>(), 1e-4);
  }
  // PIS differentiates through the states: the fused forward steps aside for LibTorch's.
  const at::Tensor x = torch::randn({3, 20, 2}).requires_grad_(true);
  fused.forward(x, t).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0);
}

TEST(FusedNetwork, MixtureDriftEqualsTheTensorFormula) {
  MixtureConfig config;
  config.means = {{-4.0, 1.0}, {0.0, 3.0}, {5.0, -2.0}};
  config.weights = {0.2, 0.5, 0.3};
  config.variances = {0.3, 1.0, 0.6};
  const GaussianMixture mixture = GaussianMixture::isotropic(config);
  const MixtureFollmerDrift fused(mixture, 5.0, true), plain(mixture, 5.0, false);
  ASSERT_NE(fused.fused_mixture(), nullptr);
  const at::Tensor x = torch::randn({11, 40, 2}) * 4, t = torch::linspace(0, 1, 11);
  const at::Tensor expected = plain(x, t);
  EXPECT_LT((fused(x, t) - expected).abs().max().item<double>(),
            1e-4 * (1 + expected.abs().max().item<double>()));
}

}  // namespace
}  // namespace tilt
