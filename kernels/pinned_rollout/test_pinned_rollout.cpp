// The fused rollout's path terms against the states it wrote (the same terms recomputed from the
// states in double), its noise against the Philox stream read directly, and rank splits.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fourier_mlp/fourier_mlp_cpu.h"
#include "philox.h"
#include "pinned_rollout/pinned_rollout.h"

namespace tilt::kernels {
namespace {

struct Grid {
  std::vector<float> means, log_weights, variances;
  Grid() {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        means.insert(means.end(), {-5.0f + 5 * i, -5.0f + 5 * j});
        log_weights.push_back(std::log(1.0f / 9));
        variances.push_back(0.3f);
      }
  }
  MixtureView view(float sigma2) const {
    return {9, 2, means.data(), log_weights.data(), variances.data(), sigma2};
  }
};

PinnedRolloutSpec spec(int64_t batch, int64_t row_begin) {
  PinnedRolloutSpec s;
  s.steps = 20;
  s.batch = batch;
  s.dim = 2;
  s.sigma2 = 5.0f;
  s.exploration_std = 0.1;
  s.seed = 42;
  s.iteration = 7;
  s.row_begin = row_begin;
  return s;
}

TEST(PinnedRollout, PathTermsMatchTheStatesItWrote) {
  const Grid grid;
  const MixtureView prior = grid.view(5.0f);
  const PinnedRolloutSpec s = spec(64, 0);
  std::vector<float> states((s.steps + 1) * s.batch * 2), drift(s.steps * s.batch * 2);
  std::vector<PathTerms> terms(s.batch);
  pinned_rollout_cpu(s, nullptr, &prior, states.data(), drift.data(), terms.data());
  const double dt = 1.0 / s.steps, variance = dt * s.sigma2;
  for (int64_t r = 0; r < s.batch; ++r) {
    double forward = 0, backward = 0;
    for (int i = 0; i < s.steps; ++i) {
      const float* x = &states[(i * s.batch + r) * 2];
      const float* next = &states[((i + 1) * s.batch + r) * 2];
      const float* u = &drift[(i * s.batch + r) * 2];
      const double ratio = static_cast<double>(i) / (i + 1);
      for (int j = 0; j < 2; ++j) {
        forward +=
            -0.5 * std::pow(next[j] - x[j] - dt * u[j], 2) / variance - 0.5 * std::log(2 * M_PI * variance);
        if (i > 0)
          backward += -0.5 * std::pow(x[j] - ratio * next[j], 2) / (ratio * variance) -
                      0.5 * std::log(2 * M_PI * ratio * variance);
      }
    }
    // Sums of 20 float terms of size ~10: relative 1e-5.
    EXPECT_NEAR(terms[r].log_forward, forward, 1e-4 * (1 + std::abs(forward)));
    EXPECT_NEAR(terms[r].log_backward, backward, 1e-4 * (1 + std::abs(backward)));
    EXPECT_EQ(terms[r].log_ratio, 0.0f);  // no policy drift: the path is the reference's
  }
}

TEST(PinnedRollout, NoiseIsThePhiloxStreamOfEachGlobalRow) {
  const PinnedRolloutSpec s = spec(8, 100);
  std::vector<float> states((s.steps + 1) * s.batch * 2);
  pinned_rollout_cpu(s, nullptr, nullptr, states.data(), nullptr, nullptr);
  const PinnedStepConstants c = s.constants();
  for (int i = 0; i < s.steps; ++i)
    for (int64_t r = 0; r < s.batch; ++r) {
      float z[4];
      philox_normal4(philox_key(s.seed, s.stream), static_cast<uint32_t>(100 + r), 0, i, s.iteration, z);
      for (int j = 0; j < 2; ++j) {
        const float increment = states[((i + 1) * s.batch + r) * 2 + j] - states[(i * s.batch + r) * 2 + j];
        EXPECT_NEAR(increment, c.noise_scale * z[j], 1e-5);
      }
    }
}

TEST(PinnedRollout, TwoShardsEqualOneBatch) {
  const Grid grid;
  const MixtureView prior = grid.view(5.0f);
  const PinnedRolloutSpec whole = spec(10, 0), first = spec(4, 0), second = spec(6, 4);
  std::vector<float> all((whole.steps + 1) * 10 * 2), a((whole.steps + 1) * 4 * 2),
      b((whole.steps + 1) * 6 * 2);
  pinned_rollout_cpu(whole, nullptr, &prior, all.data(), nullptr, nullptr);
  pinned_rollout_cpu(first, nullptr, &prior, a.data(), nullptr, nullptr);
  pinned_rollout_cpu(second, nullptr, &prior, b.data(), nullptr, nullptr);
  for (int i = 0; i <= whole.steps; ++i)
    for (int r = 0; r < 10; ++r)
      for (int j = 0; j < 2; ++j) {
        const float expected = r < 4 ? a[(i * 4 + r) * 2 + j] : b[(i * 6 + r - 4) * 2 + j];
        ASSERT_EQ(all[(i * 10 + r) * 2 + j], expected);
      }
}

}  // namespace
}  // namespace tilt::kernels
