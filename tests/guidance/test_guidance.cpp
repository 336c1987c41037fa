// Exact noised scores of mixtures and the samplers that run on them (research/tn_mdm_guidance.md
// part (c)): scores against central finite differences of the closed-form log-densities, the noised
// densities' normalisation, finiteness far outside the support (log-space evaluation), and the
// guided probability-flow ODE at w = 0, which maps N(0, 1) to N(1, 1) for 1/2 N(1, 1) + 1/2 N(-1, 1).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "guidance/exact_mixture.h"
#include "guidance/samplers.h"

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

}  // namespace
}  // namespace tilt::guidance
