// Exact noised scores of mixtures and the samplers that run on them (research/tn_mdm_guidance.md
// part (c)): scores against central finite differences of the closed-form log-densities, the noised
// densities' normalisation, finiteness far outside the support (log-space evaluation), and the
// guided probability-flow ODE at w = 0, which maps N(0, 1) to N(1, 1) for 1/2 N(1, 1) + 1/2 N(-1, 1).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "core/error.h"
#include "core/rng.h"
#include "data/image_set.h"
#include "dist/communicator.h"
#include "dxmi/networks.h"
#include "guidance/conditional_denoiser.h"
#include "guidance/exact_mixture.h"
#include "guidance/guidance_config.h"
#include "guidance/image_classes.h"
#include "guidance/samplers.h"
#include "guidance/train_guidance.h"
#include "test_helpers.h"

namespace tilt::guidance {
namespace {

// Central differences of log p_t(. | label) per coordinate (float64, h = 1e-5: error ~1e-10 relative).
at::Tensor finite_difference_score(const ExactMixture& mixture, const at::Tensor& x, double t, int label) {
  const double h = 1e-5;
  at::Tensor out = torch::empty_like(x);
  for (int64_t d = 0; d < x.size(1); ++d) {
    at::Tensor up = x.clone(), down = x.clone();
    up.select(1, d).add_(h);
    down.select(1, d).sub_(h);
    out.select(1, d).copy_((mixture.log_density(up, t, label) - mixture.log_density(down, t, label)) /
                           (2 * h));
  }
  return out;
}

ExactMixture two_dimensional_gaussians() {
  return ExactMixture(ExactMixture::Kind::kGaussian, {{0.3, 0, {-2.0, 0.5}, {0.5, 0.2}},
                                                      {0.2, 0, {-1.0, -1.5}, {0.3, 0.3}},
                                                      {0.5, 1, {2.0, 1.0}, {0.4, 1.0}}});
}

ExactMixture two_dimensional_rectangles() {
  return ExactMixture(ExactMixture::Kind::kUniform,
                      {{0.5, 0, {-2.0, -1.0}, {-1.0, 1.0}}, {0.5, 1, {1.0, -1.0}, {2.0, 1.0}}});
}

TEST(ExactMixture, ScoresEqualFiniteDifferencesOfTheLogDensity) {
  const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
  for (const ExactMixture& mixture :
       {ExactMixture::symmetric_gaussians(), ExactMixture::separated_intervals(), two_dimensional_gaussians(),
        two_dimensional_rectangles()}) {
    const at::Tensor x = 3 * torch::randn({200, mixture.dim()}, generator, torch::kFloat64);
    for (const double t : {0.01, 0.1, 1.0, 3.0, 12.0})  // 12: the uniform's narrow-interval form
      for (const int label : {-1, 0, 1}) {
        const at::Tensor exact = mixture.score(x, t, label);
        const at::Tensor numeric = finite_difference_score(mixture, x, t, label);
        EXPECT_LT(((exact - numeric).abs() / (1 + exact.abs())).max().item<double>(), 1e-6)
            << "t " << t << " label " << label << " dim " << mixture.dim();
      }
  }
}

// The Gaussian mixture's noised law in closed form: p_t = 1/2 N(-mu, 1) + 1/2 N(mu, 1) (mu^2 + sigma^2 = 1).
TEST(ExactMixture, GaussianMixtureNoisesToItsClosedForm) {
  const ExactMixture mixture = ExactMixture::symmetric_gaussians();
  const at::Tensor x = torch::linspace(-6, 6, 121, torch::kFloat64).unsqueeze(1);
  for (const double t : {0.05, 0.7, 4.0}) {
    const double mu = std::exp(-t);
    const at::Tensor component = [&](double m) {
      return -0.5 * (x.squeeze(1) - m).square() - 0.5 * std::log(2 * M_PI);
    }(mu);
    const at::Tensor other = -0.5 * (x.squeeze(1) + mu).square() - 0.5 * std::log(2 * M_PI);
    const at::Tensor expected = torch::logaddexp(component, other) + std::log(0.5);
    EXPECT_LT((mixture.log_density(x, t) - expected).abs().max().item<double>(), 1e-12) << t;
    EXPECT_LT((mixture.log_density(x, t, 1) - component).abs().max().item<double>(), 1e-12) << t;
  }
}

// The noised uniform mixture integrates to one (trapezoid on a fine grid: error ~1e-7) at small and
// large t, and matches a direct quadrature of the Gaussian kernel over the interval.
TEST(ExactMixture, UniformMixtureDensityIsNormalisedAndEqualsTheKernelIntegral) {
  const ExactMixture mixture = ExactMixture::separated_intervals();
  const at::Tensor x = torch::linspace(-12, 12, 240001, torch::kFloat64).unsqueeze(1);
  for (const double t : {0.01, 0.3, 2.0, 9.0, 12.0}) {  // 9, 12: mu (b - a) / 2 sigma < 1e-4 (narrow form)
    const at::Tensor density = mixture.log_density(x, t).exp();
    EXPECT_NEAR(torch::trapezoid(density, x.squeeze(1)).item<double>(), 1.0, 1e-6) << t;
  }
  // The two forms meet: just either side of the switch (half-width 1e-4 at t ~ 8.52) the density is
  // continuous to the narrow form's O(delta^2) error.
  const at::Tensor points = torch::tensor({-3.0, 0.0, 0.5, 4.0}, torch::kFloat64).unsqueeze(1);
  const double t_switch = -std::log(2e-4 / std::sqrt(1 + 4e-8));
  EXPECT_LT((mixture.log_density(points, t_switch * (1 - 1e-9), 1) -
             mixture.log_density(points, t_switch * (1 + 1e-9), 1))
                .abs()
                .max()
                .item<double>(),
            1e-7);
  // p_t(x | class 1) = int_1^2 N(x; mu y, sigma^2) dy at a few points, by a fine midpoint rule.
  const double t = 0.2;
  const OuCoefficients ou = OuCoefficients::at(t);
  const at::Tensor y = 1 + (torch::arange(100000, torch::kFloat64) + 0.5) / 100000;
  for (const double point : {0.3, 0.9, 1.5, 2.2}) {
    const double direct =
        (torch::exp(-0.5 * (point - ou.mu * y).square() / ou.variance) / std::sqrt(2 * M_PI * ou.variance))
            .mean()
            .item<double>();
    const double exact =
        mixture.log_density(torch::full({1, 1}, point, torch::kFloat64), t, 1).exp().item<double>();
    EXPECT_NEAR(exact, direct, 1e-8 * (1 + direct)) << point;
  }
}

// Log-space evaluation: log-densities and scores stay finite from deep inside to far outside the
// support, at small and large t, where a direct Phi(a_1) - Phi(a_2) would be 0 - 0 or 1 - 1.
TEST(ExactMixture, UniformMixtureScoresAreFiniteEverywhere) {
  for (const ExactMixture& mixture : {ExactMixture::separated_intervals(), two_dimensional_rectangles()}) {
    const at::Tensor line =
        torch::cat({-torch::logspace(-3, 4, 50, 10, torch::kFloat64), torch::zeros({1}, torch::kFloat64),
                    torch::logspace(-3, 4, 50, 10, torch::kFloat64)});
    const at::Tensor x = line.unsqueeze(1).expand({line.size(0), mixture.dim()}).contiguous();
    for (const double t : {1e-6, 1e-3, 0.1, 1.0, 30.0})
      for (const int label : {-1, 0, 1}) {
        EXPECT_TRUE(torch::isfinite(mixture.log_density(x, t, label)).all().item<bool>())
            << t << " " << label;
        EXPECT_TRUE(torch::isfinite(mixture.score(x, t, label)).all().item<bool>()) << t << " " << label;
      }
  }
  // Far to the right of U[1, 2] the score pulls back towards mu b at the Gaussian tail's rate.
  const ExactMixture mixture = ExactMixture::separated_intervals();
  const double t = 0.01, x = 50;
  const OuCoefficients ou = OuCoefficients::at(t);
  const double score = mixture.score(torch::full({1, 1}, x, torch::kFloat64), t, 1).item<double>();
  EXPECT_NEAR(score, -(x - ou.mu * 2) / ou.variance, 1e-3 * std::abs(score));
}

TEST(ExactMixture, SupportAndBadInput) {
  const ExactMixture mixture = two_dimensional_rectangles();
  const at::Tensor x = torch::tensor({{1.5, 0.0}, {-1.5, 0.0}, {1.5, 1.5}}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(mixture.in_support(x, 1), torch::tensor({true, false, false})));
  EXPECT_TRUE(torch::equal(mixture.in_support(x, -1), torch::tensor({true, true, false})));
  EXPECT_THROW(mixture.score(x, 0.0), Error);                      // t = 0
  EXPECT_THROW(mixture.score(x.to(torch::kFloat32), 0.1), Error);  // dtype
  EXPECT_THROW(mixture.score(x, 0.1, 7), Error);                   // no such class
  EXPECT_THROW(ExactMixture(ExactMixture::Kind::kUniform, {{1.0, 0, {2.0}, {1.0}}}),
               Error);  // empty interval
  EXPECT_THROW(ExactMixture(ExactMixture::Kind::kGaussian, {{-1.0, 0, {0.0}, {1.0}}}), Error);  // weight
  EXPECT_THROW((TimeGrid{1.0, 2.0, 10}.times()), Error);
}

// For 1/2 N(-1, 1) + 1/2 N(1, 1) the class-1 score is -(x - mu), so the w = 0 flow moves every particle
// by exactly int_{t_min}^{t_max} e^{-t} dt: N(0, 1) at t_max = 12 goes to N(1, 1) (moments within Monte
// Carlo error: 4 standard errors of 20000 particles), and each particle by the exact shift (RK4 on a
// smooth velocity, 200 log-spaced steps: 1e-7 measured).
TEST(GuidedSampling, ProbabilityFlowAtZeroGuidanceMapsTheStandardNormalToTheClass) {
  const ExactMixture mixture = ExactMixture::symmetric_gaussians();
  const TimeGrid grid{12.0, 1e-4, 200};
  const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const int64_t n = 20000;
  const at::Tensor start = torch::randn({n, 1}, generator, torch::kFloat64);
  const at::Tensor end = probability_flow(
      start, [&](const at::Tensor& x, double t) { return mixture.guided_score(x, t, 1, 0.0); }, grid);
  const double shift = std::exp(-grid.t_min) - std::exp(-grid.t_max);
  EXPECT_LT((end - start - shift).abs().max().item<double>(), 1e-6);
  const double mean = end.mean().item<double>(), variance = end.var().item<double>();
  EXPECT_NEAR(mean, 1.0, 4 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(variance, 1.0, 4 * std::sqrt(2.0 / static_cast<double>(n)));
  // The reverse SDE samples the same law (Euler-Maruyama on 400 log-spaced steps: bias < 0.01).
  const at::Tensor sde = reverse_sde(
      start, [&](const at::Tensor& x, double t) { return mixture.guided_score(x, t, 1, 0.0); },
      TimeGrid{12.0, 1e-4, 400},
      [&](int) {
        return torch::randn({n, 1}, generator, torch::kFloat64);
      });
  EXPECT_NEAR(sde.mean().item<double>(), 1.0, 0.01 + 4 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(sde.var().item<double>(), 1.0, 0.02 + 4 * std::sqrt(2.0 / static_cast<double>(n)));
}

// Guidance pushes class-1 samples of the Gaussian mixture to the right: with w = 3 nearly all end
// above 0 and most beyond sqrt(w) (research notes: ~0.85 by RK4 with 2000 particles; Theorem 2's
// bound is asymptotic), and the fraction beyond sqrt(w) grows with w from w = 0's 1 - Phi(sqrt 3 - 1).
TEST(GuidedSampling, GuidancePushesTheGaussianClassIntoItsTail) {
  const ExactMixture mixture = ExactMixture::symmetric_gaussians();
  const TimeGrid grid{12.0, 1e-4, 200};
  const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor start = torch::randn({10000, 1}, generator, torch::kFloat64);
  const auto beyond = [&](double w, double threshold) {
    const at::Tensor end = probability_flow(
        start, [&](const at::Tensor& x, double t) { return mixture.guided_score(x, t, 1, w); }, grid);
    return (end >= threshold).to(torch::kFloat64).mean().item<double>();
  };
  const double unguided = beyond(0.0, std::sqrt(3.0));
  EXPECT_NEAR(unguided, 0.5 * std::erfc((std::sqrt(3.0) - 1) / std::sqrt(2.0)), 0.01);
  EXPECT_GT(beyond(3.0, 0.0), 0.98);
  const double guided = beyond(3.0, std::sqrt(3.0));
  EXPECT_GT(guided, 0.75);
  EXPECT_GT(guided, 2 * unguided);
}

// Exact class samples: the squares' class 0 splits evenly over its two squares and never leaves them;
// the Gaussian class has the class's mean and variance (4 standard errors).
TEST(ExactMixture, ClassSamplesFollowTheClassLaw) {
  const CounterRng rng(3);
  const int64_t n = 40000;
  const ExactMixture squares = ExactMixture::corner_squares();
  const at::Tensor x = squares.sample(rng, RngStream::kGuidance, 1, 0, n, 0);
  EXPECT_TRUE(squares.in_support(x, 0).all().item<bool>());
  const double upper = (x.select(1, 1) > 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(upper, 0.5, 4 * 0.5 / std::sqrt(static_cast<double>(n)));
  const std::vector<double> mean = squares.mean(0);
  EXPECT_NEAR(mean[0], -1.0, 1e-12);
  EXPECT_NEAR(mean[1], 0.0, 1e-12);
  EXPECT_NEAR(x.select(1, 0).mean().item<double>(), -1.0, 4 * std::sqrt(1.0 / 12 / n));
  const ExactMixture gaussians = ExactMixture::symmetric_gaussians();
  const at::Tensor g = gaussians.sample(rng, RngStream::kGuidance, 1, 0, n, 1);
  EXPECT_NEAR(g.mean().item<double>(), 1.0, 4 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(g.var().item<double>(), 1.0, 4 * std::sqrt(2.0 / n));
  // Rows are drawn by global index: a slice equals the same rows of the whole.
  EXPECT_TRUE(torch::equal(squares.sample(rng, RngStream::kGuidance, 1, 100, 50, 0), x.narrow(0, 100, 50)));
}

// The one-vs-rest direction and the support's extent along it, by hand: class 1 of the squares sits
// at (1, 1), the rest at (-1, 0), so u = (2, 1) / sqrt 5 and <u, x> runs over [1.5, 4.5] / sqrt 5.
TEST(ExactMixture, ClassDirectionAndSupportProjection) {
  const ExactMixture squares = ExactMixture::corner_squares();
  const std::vector<double> u = squares.class_direction(1);
  EXPECT_NEAR(u[0], 2 / std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(u[1], 1 / std::sqrt(5.0), 1e-12);
  const auto [low, high] = squares.support_projection(u, 1);
  EXPECT_NEAR(low, 1.5 / std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(high, 4.5 / std::sqrt(5.0), 1e-12);
  EXPECT_EQ(ExactMixture::separated_intervals().class_direction(0), std::vector<double>{-1.0});
  EXPECT_TRUE(std::isinf(ExactMixture::symmetric_gaussians().support_projection({1.0}, 1).second));
}

// The far-tail pull by hand: zero up to 2 sigma beyond the noised far edge mu p_max, then
// (<u, x> - mu p_max - 2 sigma) / sigma^2 along u — in 1-D beyond 2 mu + 2 sigma, in the plane along
// (2, 1) / sqrt 5 beyond mu 4.5 / sqrt 5 + 2 sigma; only mixtures of uniforms have one.
TEST(ExactMixture, FarTailPullByHand) {
  const double t = 0.05;
  const OuCoefficients ou = OuCoefficients::at(t);
  const double sigma = std::sqrt(ou.variance);
  const ExactMixture intervals = ExactMixture::separated_intervals();
  const at::Tensor x = torch::tensor({-3.0, 1.5, 2 * ou.mu + 2 * sigma, 4.0}, torch::kFloat64).unsqueeze(1);
  const at::Tensor pull = intervals.far_tail_pull(x, t, 1);
  EXPECT_EQ(pull.narrow(0, 0, 3).abs().max().item<double>(), 0.0);
  EXPECT_NEAR(pull[3][0].item<double>(), (4.0 - 2 * ou.mu - 2 * sigma) / ou.variance, 1e-12);
  // Class 0's far edge is at -2, its direction -1.
  EXPECT_NEAR(intervals.far_tail_pull(x, t, 0)[0][0].item<double>(),
              -(3.0 - 2 * ou.mu - 2 * sigma) / ou.variance, 1e-12);
  const ExactMixture squares = ExactMixture::corner_squares();
  const at::Tensor y = torch::tensor({{3.0, 2.0}}, torch::kFloat64);
  const double excess = (2 * 3.0 + 2.0) / std::sqrt(5.0) - ou.mu * 4.5 / std::sqrt(5.0) - 2 * sigma;
  const at::Tensor expected =
      torch::tensor({{2.0, 1.0}}, torch::kFloat64) / std::sqrt(5.0) * excess / ou.variance;
  EXPECT_LT((squares.far_tail_pull(y, t, 1) - expected).abs().max().item<double>(), 1e-12);
  EXPECT_THROW(ExactMixture::symmetric_gaussians().far_tail_pull(x, t, 1), Error);
}

std::filesystem::path temporary_run(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("tilt_guidance_" + name + "_" + std::to_string(::getpid()));
}

std::map<std::string, double> run_study(const std::string& yaml, const std::vector<std::string>& overrides,
                                        const std::filesystem::path& dir = temporary_run("study"),
                                        StartMode mode = StartMode::kFresh, bool keep = false) {
  const GuidanceConfig config = parse_guidance_config(yaml, overrides);
  LocalCommunicator alone;
  const TrainResult result = train_guidance(config, {dir, mode, true}, alone);
  EXPECT_TRUE(std::filesystem::exists(dir / "guidance_study.h5"));
  if (!keep) std::filesystem::remove_all(dir);
  return {result.metrics.begin(), result.metrics.end()};
}

// The job on the Gaussian mixture (Theorem 2): w = 0 samples class 1, N(1, 1) (mean and std within 4
// Monte Carlo standard errors; RK4's error is far below), and w = 3 puts nearly every sample above 0
// and most beyond sqrt(w), with a monotone mean trajectory (no support to be pulled back into).
TEST(GuidanceStudy, GaussianMixtureMatchesTheClassAtZeroAndLeavesForTheTail) {
  const int64_t n = 20000;
  const auto metric = run_study("method: guidance\ndata: {mixture: gaussians_1d}\n",
                                {"sampling.samples=20000", "sampling.steps=200", "sampling.scales=[0, 3]",
                                 "sampling.kept_samples=100", "sampling.t_max=12", "sampling.t_min=0.0001"});
  EXPECT_NEAR(metric.at("mean_projection_w0"), 1.0, 4 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(metric.at("std_projection_w0"), 1.0, 4 * std::sqrt(0.5 / n));
  // The class's own exact samples, the reference row: N(1, 1) too.
  EXPECT_NEAR(metric.at("class_mean_projection"), 1.0, 4 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(metric.at("class_std_projection"), 1.0, 4 * std::sqrt(0.5 / n));
  EXPECT_EQ(metric.count("class_far_edge_fraction"), 0u);
  EXPECT_GT(metric.at("above_zero_fraction_w3"), 0.98);
  EXPECT_GT(metric.at("beyond_sqrt_w_fraction_w3"), 0.75);
  EXPECT_EQ(metric.at("monotone_w3"), 1.0);
  EXPECT_EQ(metric.at("diverged_fraction_w3"), 0.0);
}

// Theorems 1 and 3 on 1/2 U[-2, -1] + 1/2 U[1, 2]. Exact scores: at w = 0 every sample lies in
// [1, 2] (widened by 3 sigma(t_min)) and a tenth in its last tenth, as for U[1, 2] (4 s.e.); at w = 15
// more than 90% sit at the far edge (measured 0.99), after a mean trajectory that overshoots and is
// pulled back by more than 1 (measured 1.8, 45% of its rise). With 5% of the far-tail pull removed from the
// class score (an error of < 1% of its L2 size) w = 0 barely changes, while at w = 15 the error, scaled by w
// + 1, lets nearly every sample escape the support (measured in-support share 0.002).
TEST(GuidanceStudy, IntervalsCollapseOntoTheFarEdgeAndAScoreErrorLetsGuidanceLeaveTheSupport) {
  const int64_t n = 4000;
  const std::vector<std::string> sizes = {"sampling.samples=4000", "sampling.steps=150",
                                          "sampling.scales=[0, 15]", "sampling.kept_samples=10"};
  const auto exact = run_study("method: guidance\n", sizes);
  EXPECT_GT(exact.at("in_support_fraction_w0"), 0.995);
  EXPECT_NEAR(exact.at("far_edge_fraction_w0"), 0.1, 4 * std::sqrt(0.09 / n));
  EXPECT_NEAR(exact.at("class_far_edge_fraction"), 0.1, 4 * std::sqrt(0.09 / n));
  EXPECT_NEAR(exact.at("class_mean_projection"), 1.5, 4 * std::sqrt(1.0 / 12 / n));
  EXPECT_EQ(exact.at("monotone_w0"), 1.0);
  EXPECT_GT(exact.at("far_edge_fraction_w15"), 0.9);
  EXPECT_GT(exact.at("pullback_w15"), 1.0);
  EXPECT_GT(exact.at("pullback_fraction_w15"), 0.3);  // measured 0.45: up to ~4, back to 2
  EXPECT_EQ(exact.at("monotone_w15"), 0.0);
  EXPECT_EQ(exact.at("prescribed_scale"), 0.0);
  std::vector<std::string> with_error = sizes;
  with_error.push_back("model.score_error=0.05");
  const auto erring = run_study("method: guidance\n", with_error);
  EXPECT_LT(erring.at("score_error_relative_l2"), 0.01);
  EXPECT_GT(erring.at("in_support_fraction_w0"), 0.99);
  EXPECT_LT(erring.at("in_support_fraction_w15"), 0.1);
}

// The classifier-free guided score is -((w + 1) eps(x, t, z) - w eps(x, t, null)) / sigma of the
// network's own predictions (networks with random weights: the output layer starts at zero), for
// the MLP on 2-D points and the U-Net on 8 x 8 images.
TEST(ConditionalDenoiser, GuidedScoreCombinesTheClassAndNullPredictions) {
  DenoiserConfig unet;
  unet.network.kind = "unet";
  unet.network.channels = 8;
  for (const auto& [config, dim] : {std::pair{DenoiserConfig{}, 2}, std::pair{unet, 64}}) {
    SCOPED_TRACE(config.network.kind);
    const ConditionalDenoiser denoiser(dim, 2, config, 1e-3, 10.0, torch::zeros({dim}), torch::ones({dim}));
    const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(4);
    torch::NoGradGuard no_grad;
    for (const auto& parameter : denoiser.parameters()) parameter.tensor.normal_(0, 0.3, generator);
    const at::Tensor x = torch::randn({7, dim}, generator, torch::kFloat64);
    const double t = 0.3, w = 2.5, sigma = std::sqrt(-std::expm1(-2 * t));
    const at::Tensor time = torch::full({7}, t, torch::kFloat64);
    const at::Tensor eps_class = denoiser.epsilon(x, time, torch::full({7}, 1, torch::kInt64));
    const at::Tensor eps_null =
        denoiser.epsilon(x, time, torch::full({7}, denoiser.null_label(), torch::kInt64));
    EXPECT_GT((eps_class - eps_null).abs().max().item<double>(), 1e-3);
    const at::Tensor expected = -((w + 1) * eps_class - w * eps_null) / sigma;
    // float32 inside: one time for all rows and a time per row, one batch of 7 rows or of 14, round
    // differently (relative 1e-6).
    const double scale = expected.abs().max().item<double>();
    EXPECT_LT((denoiser.guided_score(x, t, 1, w) - expected).abs().max().item<double>(), 1e-5 * scale);
    EXPECT_LT((denoiser.guided_score(x, t, 1, 0) + eps_class / sigma).abs().max().item<double>(),
              1e-5 * (eps_class / sigma).abs().max().item<double>());
  }
}

// Before training (the networks' output layers start at zero) the denoiser is the exact noise
// predictor of Gaussian data with the data's moments: its score -eps / sigma equals the closed-form
// score of N(mu m, mu^2 v + sigma^2) (an ExactMixture of one Gaussian) at every t, for both networks.
TEST(ConditionalDenoiser, StartsAsTheExactDenoiserOfGaussianDataWithTheDataMoments) {
  DenoiserConfig unet;
  unet.network.kind = "unet";
  unet.network.channels = 4;
  const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(9);
  for (const auto& [config, dim] : {std::pair{DenoiserConfig{}, 2}, std::pair{unet, 16}}) {
    SCOPED_TRACE(config.network.kind);
    const at::Tensor mean = torch::randn({dim}, generator, torch::kFloat64),
                     variance = torch::rand({dim}, generator, torch::kFloat64) + 0.2;
    const ExactMixture gaussian(
        ExactMixture::Kind::kGaussian,
        {{1.0, 0, std::vector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + dim),
          std::vector<double>(variance.data_ptr<double>(), variance.data_ptr<double>() + dim)}});
    const ConditionalDenoiser denoiser(dim, 1, config, 1e-3, 10.0, mean, variance);
    torch::NoGradGuard no_grad;
    const at::Tensor x = 2 * torch::randn({5, dim}, generator, torch::kFloat64);
    for (double t : {0.002, 0.3, 4.0}) {
      const double sigma = std::sqrt(-std::expm1(-2 * t));
      const at::Tensor score =
          -denoiser.epsilon(x, torch::full({1}, t, torch::kFloat64), torch::zeros({5}, torch::kInt64)) /
          sigma;
      const at::Tensor exact = gaussian.score(x, t);
      EXPECT_LT((score - exact).abs().max().item<double>(), 1e-9 * (1 + exact.abs().max().item<double>()))
          << "t = " << t;
    }
  }
}

// A conditional network needs one label per row, in range; an unconditional one takes none.
TEST(ConditionalDenoiser, NetworksRefuseMissingOrBadLabels) {
  dxmi::ArchitectureConfig unet;
  unet.kind = "unet";
  unet.channels = 4;
  for (const dxmi::ArchitectureConfig& architecture : {dxmi::ArchitectureConfig{}, unet}) {
    SCOPED_TRACE(architecture.kind);
    const int dim = architecture.kind == "unet" ? 64 : 2;
    const auto conditional = dxmi::make_noise_predictor(architecture, dim, 1, 3);
    const auto unconditional = dxmi::make_noise_predictor(architecture, dim);
    const at::Tensor x = torch::zeros({4, dim}), t = torch::full({1}, 0.5);
    EXPECT_EQ(conditional->forward(x, t, torch::tensor({0, 1, 2, 0}, torch::kInt64)).sizes(), x.sizes());
    const auto message = [&](const auto& action) { return test_support::error_message(action); };
    EXPECT_NE(message([&] { conditional->forward(x, t); }).find("needs a class label"), std::string::npos);
    EXPECT_NE(message([&] {
                conditional->forward(x, t, torch::tensor({0, 1, 3, 0}, torch::kInt64));
              }).find("0..2"),
              std::string::npos);
    EXPECT_NE(message([&] {
                conditional->forward(x, t, torch::tensor({0, 1}, torch::kInt64));
              }).find("one class label per row"),
              std::string::npos);
    EXPECT_NE(message([&] {
                unconditional->forward(x, t, torch::zeros({4}, torch::kInt64));
              }).find("takes no class labels"),
              std::string::npos);
  }
}

// Classifier-free guidance learned on 1/2 U[-2, -1] + 1/2 U[1, 2] (DSM with label dropout, 1500
// steps of batch 512): unguided, the class-1 samples lie in [1, 2] (widened by 3 sigma(t_min) =
// 0.13) with its mean 1.5 and std 0.289 within what the training leaves (measured 1.52, 0.29, 0.98
// in support); guided by the model's own null prediction at w = 3 they move toward the far edge
// like the exact scores' (exact mean 1.88, learned 1.98).
TEST(GuidanceStudy, ALearnedConditionalModelSamplesTheClassAndGuidanceMovesItOut) {
  const auto metric =
      run_study("method: guidance\nmodel: {kind: learned, hidden: 64, layers: 2}\n",
                {"training.iterations=1500", "training.batch=512", "training.log_every=500",
                 "training.checkpoint_every=1500", "sampling.samples=2000", "sampling.steps=60",
                 "sampling.t_min=0.001", "sampling.scales=[0, 3]", "sampling.kept_samples=10"},
                temporary_run("learned"));
  EXPECT_GT(metric.at("in_support_fraction_w0"), 0.95);
  EXPECT_NEAR(metric.at("mean_projection_w0"), 1.5, 0.08);
  EXPECT_NEAR(metric.at("std_projection_w0"), std::sqrt(1.0 / 12), 0.06);
  EXPECT_GT(metric.at("mean_projection_w3"), 1.7);
}

// A learned run stopped after 3 of 6 iterations and resumed ends where the uninterrupted run ends
// (the counter RNG and the checkpointed network and Adam state: bit for bit on one rank).
TEST(GuidanceStudy, ResumingALearnedRunReproducesTheUninterruptedOne) {
  const std::string yaml = "method: guidance\nmodel: {kind: learned, hidden: 16, layers: 1}\n";
  const std::vector<std::string> sizes = {"training.batch=64", "training.checkpoint_every=3",
                                          "sampling.samples=64", "sampling.steps=10",
                                          "sampling.kept_samples=4"};
  std::vector<std::string> whole = sizes, half = sizes;
  whole.push_back("training.iterations=6");
  half.push_back("training.iterations=3");
  const auto straight = run_study(yaml, whole, temporary_run("straight"));
  const std::filesystem::path dir = temporary_run("resumed");
  run_study(yaml, half, dir, StartMode::kFresh, true);
  const auto resumed = run_study(yaml, whole, dir, StartMode::kResume);
  ASSERT_EQ(resumed.size(), straight.size());
  for (const auto& [name, value] : straight) EXPECT_EQ(resumed.at(name), value) << name;
  EXPECT_NE(run_study(yaml, half, temporary_run("half")).at("mean_projection_w1"),
            straight.at("mean_projection_w1"));
  // The network's time input is scaled by the sampler's time range: a rescan may not change it.
  std::vector<std::string> other_range = whole;
  other_range.push_back("sampling.t_min=0.01");
  const std::filesystem::path finished = temporary_run("finished");
  run_study(yaml, whole, finished, StartMode::kFresh, true);
  LocalCommunicator alone;
  const std::string message = test_support::error_message([&] {
    train_guidance(parse_guidance_config(yaml, other_range), {finished, StartMode::kResume, true}, alone);
  });
  EXPECT_NE(message.find("t_min"), std::string::npos) << message;
  std::filesystem::remove_all(finished);
}

// Two classes of 8 x 8 images as the training split's IDX files in a fresh directory: class 0 dark
// everywhere, class 1 bright on its left half, every pixel up to 40 of 255 in from the range's end.
std::filesystem::path write_two_class_images(const std::string& name, uint32_t per_class = 256) {
  const std::filesystem::path dir = temporary_run(name);
  std::filesystem::create_directories(dir);
  std::mt19937 random(7);
  std::uniform_int_distribution<int> jitter(0, 40);
  std::vector<unsigned char> pixels, labels;
  for (uint32_t i = 0; i < 2 * per_class; ++i) {
    const unsigned char label = static_cast<unsigned char>(i % 2);
    labels.push_back(label);
    for (int pixel = 0; pixel < 64; ++pixel) {
      const bool bright = label == 1 && pixel % 8 < 4;
      pixels.push_back(static_cast<unsigned char>(bright ? 255 - jitter(random) : jitter(random)));
    }
  }
  test_support::write_bytes(dir / "train-images-idx3-ubyte",
                            test_support::idx_bytes({2 * per_class, 8, 8}, pixels));
  test_support::write_bytes(dir / "train-labels-idx1-ubyte",
                            test_support::idx_bytes({2 * per_class}, labels));
  return dir;
}

// The image set's ground truth by hand: the class direction is the normalised difference of the
// class means, the support's extent along it the class images' projections; the support test allows
// an RMS excess over the pixel range of sigma: pixels at the range's end plus noise sigma' exceed it
// by sigma' / sqrt(2) in RMS (a half-normal's second moment), so noise sigma stays inside (measured
// ~all of 2000; 64 pixels: the RMS^2 is 0.5 +- 0.14 sigma^2) and noise 2 sigma does not (2 +- 0.56).
// Samples are the class's images, the same rows however the rows are split.
TEST(ImageClasses, DirectionSupportAndSamplesComeFromTheImages) {
  const std::filesystem::path dir = write_two_class_images("image_set");
  const data::LabelledImages set = data::load_mnist_like(dir, "train");
  const ImageClasses images(set);
  EXPECT_EQ(images.classes(), 2);
  EXPECT_EQ(images.dim(), 64);
  EXPECT_TRUE(images.bounded());
  const at::Tensor x = set.images.to(torch::kFloat64);
  const at::Tensor difference = x.index({set.labels == 1}).mean(0) - x.index({set.labels == 0}).mean(0);
  const at::Tensor expected = difference / difference.norm();
  const std::vector<double> u = images.class_direction(1);
  EXPECT_LT((torch::tensor(u, torch::kFloat64) - expected).abs().max().item<double>(), 1e-9);
  const at::Tensor projection = x.index({set.labels == 1}).matmul(expected);
  const auto [low, high] = images.support_projection(u, 1);
  EXPECT_NEAR(low, projection.min().item<double>(), 1e-9);
  EXPECT_NEAR(high, projection.max().item<double>(), 1e-9);

  const double sigma = 0.1;
  const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const at::Tensor noise = torch::randn({2000, 64}, generator, torch::kFloat64);
  const at::Tensor at_the_ends =
      torch::where(torch::rand({2000, 64}, generator) < 0.5, -1.0, 1.0).to(torch::kFloat64);
  EXPECT_GT(images.in_support_at_noise(at_the_ends + sigma * noise, 1, sigma)
                .to(torch::kFloat64)
                .mean()
                .item<double>(),
            0.99);
  EXPECT_LT(images.in_support_at_noise(at_the_ends + 2 * sigma * noise, 1, sigma)
                .to(torch::kFloat64)
                .mean()
                .item<double>(),
            0.2);
  EXPECT_TRUE(images.in_support_at_noise(x, 1, 0).all().item<bool>());

  const CounterRng rng(5);
  at::Tensor labels;
  const at::Tensor drawn = images.sample(rng, RngStream::kGuidance, 2, 0, 300, 1, &labels);
  EXPECT_TRUE((labels == 1).all().item<bool>());
  EXPECT_GT(drawn.index({torch::indexing::Slice(), 0}).min().item<double>(), 0.6);  // left half bright
  EXPECT_TRUE(torch::equal(torch::cat({images.sample(rng, RngStream::kGuidance, 2, 0, 100, 1),
                                       images.sample(rng, RngStream::kGuidance, 2, 100, 200, 1)}),
                           drawn));
  images.sample(rng, RngStream::kGuidance, 2, 0, 400, -1, &labels);
  const double share = labels.to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(share, 0.5, 4 * std::sqrt(0.25 / 400));
  std::filesystem::remove_all(dir);
}

// Classifier-free guidance learned on images (the conditional U-Net, DSM with label dropout, 400
// steps): unguided, class 1's samples stay in the pixel range (measured 0.99) and project onto the
// class direction inside its images' range (measured 4.81; the range ends at 5.01); w = 3 moves most of them
// to the far edge (0.24 -> 0.65); w = 15 pushes them past it and out of the pixel range (mean 7.2,
// none in the range, after a pullback of 11% of the rise) — Theorems 1 and 3 on a trained model.
// Without the Gaussian preconditioning (conditional_denoiser.h) the unguided samples fly off (0.22 in
// range, projection ~300): what this test caught.
TEST(GuidanceStudy, ALearnedImageModelSamplesTheClassAndGuidancePushesItOutOfThePixelRange) {
  const std::filesystem::path dir = write_two_class_images("learned_images");
  const ImageClasses images(data::load_mnist_like(dir, "train"));
  const auto [low, high] = images.support_projection(images.class_direction(1), 1);
  const auto metric = run_study(
      "method: guidance\ndata: {images: " + dir.string() +
          ", class: 1}\nmodel: {kind: learned, channels: 8}\n",
      {"training.iterations=400", "training.batch=64", "training.lr=0.002", "training.log_every=200",
       "training.checkpoint_every=400", "sampling.samples=256", "sampling.steps=30", "sampling.t_min=0.001",
       "sampling.scales=[0, 3, 15]", "sampling.kept_samples=8"},
      temporary_run("learned_images_run"));
  EXPECT_GT(metric.at("in_support_fraction_w0"), 0.9);
  EXPECT_GT(metric.at("class_mean_projection"), low);
  EXPECT_LT(metric.at("class_mean_projection"), high);
  EXPECT_GT(metric.at("mean_projection_w0"), low);
  EXPECT_LT(metric.at("mean_projection_w0"), high);
  EXPECT_GT(metric.at("far_edge_fraction_w3"), metric.at("far_edge_fraction_w0") + 0.2);
  EXPECT_GT(metric.at("mean_projection_w15"), high);
  EXPECT_LT(metric.at("in_support_fraction_w15"), 0.1);
  std::filesystem::remove_all(dir);
}

TEST(GuidanceConfig, BadValuesAreOneLineErrorsAndTheResolvedConfigRoundTrips) {
  for (const char* bad :
       {"data.mixture=moons", "data.class=2", "model.kind=mlp", "training.iterations=5", "model.hidden=8",
        "model.score_error=-0.1", "model.score_error=2", "sampling.sampler=heun", "sampling.samples=1",
        "sampling.steps=0", "sampling.t_min=0", "sampling.t_max=0.0001", "sampling.scales=[]",
        "sampling.scales=[1, 1]", "sampling.scales=[-1]", "sampling.kept_samples=30000",
        "sampling.min_in_support=1.5", "sampling.max_pullback=-0.1", "sampling.speed=2"}) {
    const std::string message =
        test_support::error_message([&] { parse_guidance_config("method: guidance\n", {bad}); });
    EXPECT_NE(message.find("config: '"), std::string::npos) << bad << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(
      test_support::error_message([] {
        parse_guidance_config("method: guidance\ndata: {mixture: gaussians_1d}\nmodel: {score_error: 0.1}\n");
      }).find("mixtures of uniforms"),
      std::string::npos);
  for (const char* bad :
       {"model.label_dropout=0", "model.label_dropout=1", "model.layers=-1", "training.batch=0",
        "training.lr=0", "training.iterations=-1", "model.score_error=0.1", "training.epochs=3",
        "model.architecture=unet", "model.architecture=cnn"}) {
    const std::string message = test_support::error_message(
        [&] { parse_guidance_config("method: guidance\nmodel: {kind: learned}\n", {bad}); });
    EXPECT_NE(message.find("config: '"), std::string::npos) << bad << ": " << message;
  }
  const GuidanceConfig learned = parse_guidance_config(
      "method: guidance\nmodel: {kind: learned, hidden: 32, label_dropout: 0.2}\ntraining: {iterations: "
      "7}\n");
  EXPECT_EQ(to_yaml(parse_guidance_config(to_yaml(learned))), to_yaml(learned));
  ASSERT_TRUE(learned.learned.has_value());
  EXPECT_EQ(learned.learned->network.mlp.hidden, 32);
  EXPECT_EQ(learned.learned->iterations, 7);
  // Images: a directory that exists, a class in 0..9, a learned U-Net.
  const std::filesystem::path dir = temporary_run("config_images");
  std::filesystem::create_directories(dir);
  const std::string images = "method: guidance\ndata: {images: " + dir.string() + ", class: 3}\n";
  for (const auto& [bad, phrase] : std::vector<std::pair<std::string, std::string>>{
           {"data.images=/nonexistent/fashion-mnist", "not a directory"},
           {"data.class=10", "data.class"},
           {"data.mixture=squares_2d", "not both"},
           {"model.architecture=mlp", "architecture unet"},
           {"model.channels=3", "must be even"}}) {
    const std::string message = test_support::error_message(
        [&] { parse_guidance_config(images + "model: {kind: learned}\n", {bad}); });
    EXPECT_NE(message.find(phrase), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(test_support::error_message([&] { parse_guidance_config(images); }).find("no exact score"),
            std::string::npos);
  const GuidanceConfig unet = parse_guidance_config(images + "model: {kind: learned, channels: 12}\n");
  EXPECT_EQ(to_yaml(parse_guidance_config(to_yaml(unet))), to_yaml(unet));
  ASSERT_TRUE(unet.learned.has_value());
  EXPECT_EQ(unet.learned->network.kind, "unet");
  EXPECT_EQ(unet.learned->network.channels, 12);
  EXPECT_EQ(unet.images, dir.string());
  std::filesystem::remove_all(dir);
  const GuidanceConfig config = parse_guidance_config(
      "method: guidance\ndata: {mixture: squares_2d, class: 0}\nmodel: {score_error: 0.02}\n"
      "sampling: {sampler: sde, scales: [0, 2.5], t_min: 0.00001}\n");
  const GuidanceConfig again = parse_guidance_config(to_yaml(config));
  EXPECT_EQ(to_yaml(again), to_yaml(config));
  EXPECT_EQ(again.sampling.sampler, SamplerKind::kReverseSde);
  EXPECT_EQ(again.sampling.scales, (std::vector<double>{0, 2.5}));
  EXPECT_EQ(again.sampling.t_min, 1e-5);
  EXPECT_EQ(again.guided_class, 0);
}

}  // namespace
}  // namespace tilt::guidance
