// Every target's exact sampler against its moments, its log-density against numerical integration
// (log Z), its analytic gradient against autograd.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "target/funnel.h"
#include "target/manywell.h"
#include "target/posterior.h"
#include "target/torchscript.h"

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

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

// The well's normaliser against an independent Simpson rule on a coarser, wider grid, and the
// sampler against the well's mean, second moment and mode weights computed by the same quadrature.
TEST(Manywell, LogZAndExactSamplesMatchQuadrature) {
  const Manywell manywell(ManywellOptions{});
  const int64_t n = 2000;  // odd number of Simpson points
  const at::Tensor a = torch::linspace(-6, 6, 2 * n + 1, torch::kFloat64);
  const double h = 12.0 / (2 * n);
  at::Tensor weights = torch::full({2 * n + 1}, 2.0, torch::kFloat64);
  weights.index_put_({torch::indexing::Slice(1, torch::indexing::None, 2)}, 4.0);
  weights[0] = 1.0, weights[2 * n] = 1.0;
  const at::Tensor p = (-a.pow(4) + 6 * a.square() + 0.5 * a).exp();
  const double normaliser = (weights * p).sum().item<double>() * h / 3;
  EXPECT_NEAR(manywell.log_well_normaliser(), std::log(normaliser), 1e-9);
  EXPECT_NEAR(manywell.log_z(), 16 * (std::log(normaliser) + 0.5 * std::log(2 * M_PI)), 1e-7);
  const double mean = (weights * p * a).sum().item<double>() * h / 3 / normaliser;
  const double second = (weights * p * a.square()).sum().item<double>() * h / 3 / normaliser;
  const double positive =
      (weights * p * (a > 0).to(torch::kFloat64)).sum().item<double>() * h / 3 / normaliser;

  const at::Tensor x = manywell.sample(CounterRng(3), 0, 0, 20000).to(torch::kFloat64);
  const at::Tensor wells = x.view({20000, 16, 2}).select(2, 0),
                   gaussians = x.view({20000, 16, 2}).select(2, 1);
  // 320000 well draws: standard errors ~0.003 (mean), ~0.002 (second moment), ~0.0009 (mode weight).
  EXPECT_NEAR(wells.mean().item<double>(), mean, 0.015);
  EXPECT_NEAR(wells.square().mean().item<double>(), second, 0.01);
  EXPECT_NEAR((wells > 0).to(torch::kFloat64).mean().item<double>(), positive, 0.005);
  EXPECT_NEAR(gaussians.var().item<double>(), 1.0, 0.01);
  // The a/2 tilt weighs the right well by about e^{1.73} = 5.6 : 1.
  EXPECT_NEAR(positive, 0.84, 0.01);
}

TEST(Manywell, AnalyticGradientMatchesAutogradAndDimMustBeEven) {
  ManywellOptions options;
  options.dim = 8;
  const Manywell manywell(options);
  const at::Tensor x = manywell.sample(CounterRng(4), 0, 0, 32);
  EXPECT_TRUE(torch::allclose(manywell.grad_log_reward(x), autograd_gradient(manywell, x), 1e-4, 1e-3));
  YAML::Node odd;
  odd["dim"] = 7;
  ConfigSection section(odd, "target");
  EXPECT_THROW(ManywellOptions::read(section), Error);
}

// Writes `module` (Python defining class Reward) as TorchScript with Debian's python3-torch.
std::filesystem::path script(const std::string& name, const std::string& module) {
  const auto dir = std::filesystem::temp_directory_path() / ("tilt_torchscript_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / (name + ".pt"), source = dir / (name + ".py");
  std::ofstream(source) << "import torch\n"
                        << module << "\ntorch.jit.script(Reward()).save('" << file.string() << "')\n";
  const std::string command = "/usr/bin/python3 " + source.string();
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return file;
}

// The same reward, N(y; A x, s^2 I) with A = [[1, 0.5], [0, 2]], y = (1, -2), s^2 = 0.7, written in
// Python and in C++: values agree to 1e-8 relative (measured 2.6e-8 absolute on values ~10: the
// TorchScript interpreter evaluates in another order), autograd gradients to float32 precision.
TEST(TorchScript, RewardWrittenInPythonEqualsTheSameRewardInCxx) {
  const auto file = script("gaussian", R"(
class Reward(torch.nn.Module):
    def forward(self, x):
        a = torch.tensor([[1.0, 0.5], [0.0, 2.0]], dtype=x.dtype)
        y = torch.tensor([1.0, -2.0], dtype=x.dtype)
        r = y - x @ a.t()
        return -0.5 * (r * r).sum(-1) / 0.7 - torch.log(torch.tensor(2 * 3.141592653589793 * 0.7, dtype=x.dtype))
)");
  const TorchScriptFunction python(file, 2);
  const GaussianLikelihood cxx(torch::tensor({{1.0, 0.5}, {0.0, 2.0}}, torch::kFloat64),
                               torch::tensor({1.0, -2.0}, torch::kFloat64), 0.7);
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({64, 2}, torch::kFloat64) * 2;
  EXPECT_TRUE(torch::allclose(python(x), cxx.log_reward(x), 1e-8, 1e-7))
      << (python(x) - cxx.log_reward(x)).abs().max();
  TorchScriptTargetOptions options;
  options.file = file;
  const TorchScriptTarget target(options);
  EXPECT_EQ(target.truth(), nullptr);
  const at::Tensor gradient = target.grad_log_reward(x);  // autograd through the module
  const at::Tensor residual = torch::tensor({1.0, -2.0}, torch::kFloat64) -
                              torch::matmul(x, torch::tensor({{1.0, 0.5}, {0.0, 2.0}}, torch::kFloat64).t());
  const at::Tensor expected =
      torch::matmul(residual, torch::tensor({{1.0, 0.5}, {0.0, 2.0}}, torch::kFloat64)) / 0.7;
  EXPECT_TRUE(torch::allclose(gradient.to(torch::kFloat64), expected, 1e-5, 1e-5));
}

TEST(TorchScript, WrongShapesAndMissingFilesAreClearErrors) {
  const auto file = script("wrong_shape", R"(
class Reward(torch.nn.Module):
    def forward(self, x):
        return x
)");
  try {
    TorchScriptFunction(file, 2);
    ADD_FAILURE() << "accepted a reward of the wrong shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected [2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TorchScriptFunction("/nonexistent.pt", 2), Error);
}

}  // namespace
}  // namespace tilt
