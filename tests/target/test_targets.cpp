// Every target's exact sampler against its moments, its log-density against numerical integration
// (log Z), its analytic gradient against autograd.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "target/funnel.h"

namespace tilt {
namespace {

// The analytic gradient against autograd through the log-density (Target's default).
at::Tensor autograd_gradient(const Target& target, const at::Tensor& x) {
  return target.Target::grad_log_reward(x);
}

TEST(Funnel, ExactSamplesHaveTheFunnelMoments) {
  const Funnel funnel(FunnelOptions{});
  const int64_t n = 40000;
  const at::Tensor x = funnel.sample(CounterRng(1), 0, 0, n).to(torch::kFloat64);
  ASSERT_EQ(x.sizes(), (at::IntArrayRef{n, 10}));
  const at::Tensor x0 = x.select(1, 0);
  // x0 ~ N(0, 9): standard errors 0.015 (mean) and 0.064 (variance); 5 of them as tolerance.
  EXPECT_NEAR(x0.mean().item<double>(), 0.0, 0.075);
  EXPECT_NEAR(x0.var().item<double>(), 9.0, 0.32);
  // x_i / e^{x0/2} ~ N(0, 1) independently of x0: standard errors 0.0017 and 0.0024 over 9 x 40000.
  const at::Tensor standardised = x.narrow(1, 1, 9) * torch::exp(-0.5 * x0).unsqueeze(1);
  EXPECT_NEAR(standardised.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(standardised.var().item<double>(), 1.0, 0.012);
  // Rows do not depend on how the stream is split (ranks draw their own rows).
  EXPECT_TRUE(torch::equal(funnel.sample(CounterRng(1), 0, 100, 5), x.narrow(0, 100, 5).to(torch::kFloat32)));
}

// In D = 2 the density integrates to 1 (log Z = 0): x1 is integrated on a grid scaled by its
// conditional standard deviation, x0 on a fine grid; the Riemann error at these spacings is < 1e-7.
TEST(Funnel, DensityIntegratesToOneIn2D) {
  FunnelOptions options;
  options.dim = 2;
  const Funnel funnel(options);
  const at::Tensor x0 = torch::linspace(-21, 21, 4201, torch::kFloat64);  // 7 standard deviations
  const at::Tensor u = torch::linspace(-12, 12, 2401, torch::kFloat64);
  double total = 0;
  for (int64_t i = 0; i < x0.size(0); ++i) {
    const double a = x0[i].item<double>(), scale = std::exp(0.5 * a);
    const at::Tensor points = torch::stack({torch::full_like(u, a), u * scale}, 1);
    total += funnel.log_density(points).exp().sum().item<double>() * (0.01 * scale) * 0.01;
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_EQ(funnel.log_z(), 0.0);
}

TEST(Funnel, AnalyticGradientMatchesAutograd) {
  const Funnel funnel(FunnelOptions{});
  const at::Tensor x = funnel.sample(CounterRng(2), 0, 0, 64);
  EXPECT_TRUE(torch::allclose(funnel.grad_log_reward(x), autograd_gradient(funnel, x), 1e-4, 1e-4));
}

}  // namespace
}  // namespace tilt
