// The analytic targets: each log-reward against its formula written out in double precision, each
// score against central differences of the log-reward, and the row loops against the per-sample maths.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "analytic_target/analytic_target.h"
#include "testing/gmm25.h"

namespace tilt::kernels {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

std::vector<float> points(int rows, int dim, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(rows) * dim);
  for (float& v : x) v = normal(rng);
  return x;
}

double funnel_reference(int dim, double variance, const float* x) {
  double out = -0.5 * (x[0] * static_cast<double>(x[0]) / variance + std::log(2 * M_PI * variance));
  for (int i = 1; i < dim; ++i)
    out += -0.5 * (x[i] * static_cast<double>(x[i]) * std::exp(-x[0]) + x[0] + kLog2Pi);
  return out;
}

double manywell_reference(int dim, const float* x) {
  double out = 0;
  for (int i = 0; i < dim; i += 2) {
    const double a = x[i], b = x[i + 1];
    out += -std::pow(a, 4) + 6 * a * a + 0.5 * a - 0.5 * b * b;
  }
  return out;
}

double mixture_reference(const Gmm25& g, const float* x) {
  double total = 0;
  for (int c = 0; c < 25; ++c) {
    const double s2 = g.variances[c];
    double d2 = 0;
    for (int d = 0; d < 2; ++d) d2 += std::pow(x[d] - g.means[2 * c + d], 2);
    total += std::exp(g.log_weights[c] - d2 / (2 * s2)) / (2 * M_PI * s2);
  }
  return std::log(total);
}

// Every target's score against central differences of its log-reward (h 1e-2 in float: truncation
// h^2 / 6 |f'''| and rounding 1e-7 |f| / h, both below the tolerance).
void expect_score_is_gradient(const AnalyticTarget& target, const std::vector<float>& x, int rows) {
  const int dim = target.dim;
  std::vector<float> score(x.size());
  analytic_score_cpu(target, x.data(), rows, score.data());
  for (int r = 0; r < rows; ++r) {
    std::vector<float> point(x.begin() + r * dim, x.begin() + (r + 1) * dim);
    for (int d = 0; d < dim; ++d) {
      const float h = 1e-2f, saved = point[d];
      point[d] = saved + h;
      const double up = analytic_log_reward(target, point.data());
      point[d] = saved - h;
      const double down = analytic_log_reward(target, point.data());
      point[d] = saved;
      const double difference = (up - down) / (2 * h);
      EXPECT_NEAR(score[r * dim + d], difference, 5e-3 * (1 + std::fabs(difference)))
          << "row " << r << " coordinate " << d;
    }
  }
}

TEST(AnalyticTarget, FunnelIsItsDensityAndScore) {
  const int dim = 10, rows = 50;
  const AnalyticTarget target = funnel_target(dim, 9.0f);
  const std::vector<float> x = points(rows, dim, 1.5f, 1);
  std::vector<float> log_reward(rows);
  analytic_log_reward_cpu(target, x.data(), rows, log_reward.data());
  for (int r = 0; r < rows; ++r) {
    const double expected = funnel_reference(dim, 9.0, x.data() + r * dim);
    EXPECT_NEAR(log_reward[r], expected, 1e-5 * (1 + std::fabs(expected))) << r;
  }
  expect_score_is_gradient(target, x, rows);
}

TEST(AnalyticTarget, ManywellIsItsLogRewardAndScore) {
  const int dim = 32, rows = 50;
  const AnalyticTarget target = manywell_target(dim);
  const std::vector<float> x = points(rows, dim, 1.5f, 2);
  std::vector<float> log_reward(rows);
  analytic_log_reward_cpu(target, x.data(), rows, log_reward.data());
  for (int r = 0; r < rows; ++r) {
    const double expected = manywell_reference(dim, x.data() + r * dim);
    EXPECT_NEAR(log_reward[r], expected, 1e-5 * (1 + std::fabs(expected))) << r;
  }
  expect_score_is_gradient(target, x, rows);
}

TEST(AnalyticTarget, MixtureIsItsDensityAndScore) {
  const Gmm25 g;
  const AnalyticTarget target = mixture_target(g.view(5.0f));
  const int rows = 200;
  const std::vector<float> x = points(rows, 2, 7.0f, 3);  // between and on the modes
  std::vector<float> log_reward(rows);
  analytic_log_reward_cpu(target, x.data(), rows, log_reward.data());
  for (int r = 0; r < rows; ++r) {
    const double expected = mixture_reference(g, x.data() + 2 * r);
    if (expected < -80) continue;  // the double reference's exp underflows far from every mode
    EXPECT_NEAR(log_reward[r], expected, 1e-5 * (1 + std::fabs(expected))) << r;
  }
  expect_score_is_gradient(target, x, rows);
}

}  // namespace
}  // namespace tilt::kernels
