// The one-pass mixture drift against the formula written out in double precision with a plain softmax.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "mixture_drift/mixture_drift.h"

namespace tilt::kernels {
namespace {

// The drift and, last, the size of the terms it sums (float rounding scales with it, not with the
// drift: near t = 1 the terms are ~ |mu| sigma2 / s^2 and cancel to a drift of order one).
std::vector<double> reference_drift(const MixtureView& m, const float* x, double t) {
  const int c_count = m.components, d = m.dim;
  std::vector<double> logit(c_count);
  double top = -INFINITY;
  for (int c = 0; c < c_count; ++c) {
    logit[c] = m.log_weights[c];
    if (t > 0) {
      const double variance = t * t * m.variances[c] + m.sigma2 * t * (1 - t);
      double distance2 = 0;
      for (int j = 0; j < d; ++j) distance2 += std::pow(x[j] - t * m.means[c * d + j], 2);
      logit[c] -= 0.5 * (distance2 / variance + d * std::log(variance));
    }
    top = std::max(top, logit[c]);
  }
  double total = 0;
  for (double l : logit) total += std::exp(l - top);
  std::vector<double> u(d + 2, 0.0);
  u[d + 1] = std::abs(top);
  for (int c = 0; c < c_count; ++c) {
    const double r = std::exp(logit[c] - top) / total;
    const double denominator = t * m.variances[c] + m.sigma2 * (1 - t);
    for (int j = 0; j < d; ++j) {
      u[j] += r * (m.sigma2 * m.means[c * d + j] + (m.variances[c] - m.sigma2) * x[j]) / denominator;
      u[d] += r * (std::abs(m.sigma2 * m.means[c * d + j]) + std::abs((m.variances[c] - m.sigma2) * x[j])) /
              denominator;
    }
  }
  return u;
}

TEST(MixtureDrift, MatchesSoftmaxFormulaOverTimeAndSpace) {
  // The 25-mode grid with unequal weights and variances.
  std::vector<float> means, log_weights, variances;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      means.insert(means.end(), {-10.0f + 5 * i, -10.0f + 5 * j});
      log_weights.push_back(std::log((1.0f + i + j) / 125.0f));
      variances.push_back(0.3f + 0.1f * j);
    }
  const MixtureView m{25, 2, means.data(), log_weights.data(), variances.data(), 5.0f};
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 7.0f);
  double worst = 0;
  const int rows = 53;  // vector blocks of every width and a scalar remainder
  for (int step = 0; step <= 100; ++step) {
    const float t = step * 0.01f;
    std::vector<float> x(2 * rows), batch_u(2 * rows);
    for (float& v : x) v = normal(rng);
    mixture_follmer_drift_cpu(m, x.data(), rows, t, batch_u.data());
    for (int n = 0; n < rows; ++n) {
      float u[2];
      mixture_follmer_drift(m, &x[2 * n], t, u);
      const std::vector<double> expected = reference_drift(m, &x[2 * n], t);
      // float32 logits of size L are off by ~L ulps, responsibilities by as much relative.
      const double scale = (1 + expected[2]) * (1 + expected[3]);
      for (int j = 0; j < 2; ++j) {
        worst = std::max(worst, std::abs(u[j] - expected[j]) / scale);
        worst = std::max(worst, std::abs(batch_u[2 * n + j] - expected[j]) / scale);
      }
    }
  }
  // float rounding: a few ulps (6e-8) of the terms' size times the logits' size.
  EXPECT_LT(worst, 5e-7);
}

}  // namespace
}  // namespace tilt::kernels
