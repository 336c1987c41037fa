// The CPU TB engine: its gradient against central differences of its own loss with the rollout's
// states held fixed (what TB differentiates), its Adam step against the update written out, and
// two half-batch engines that sum their gradients equal to one engine on the whole batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "tb_iteration/tb_iteration_cpu.h"
#include "testing/gmm25.h"

namespace tilt::kernels {
namespace {

const FourierMlpShape kShape{2, 16, 8, 1, 2};

struct Fixture {
  Gmm25 gmm25;
  std::vector<float> frequencies, parameters;
  Fixture() {
    for (int i = 0; i < kShape.features; ++i) frequencies.push_back(0.1f + 99.9f * i / (kShape.features - 1));
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    parameters.resize(fourier_mlp_parameter_count(kShape));
    for (float& p : parameters) p = normal(rng);
  }
  TbIterationSpec spec(int64_t batch, int64_t row_begin, int64_t global_batch) const {
    TbIterationSpec s;
    s.rollout.steps = 10;
    s.rollout.batch = batch;
    s.rollout.dim = 2;
    s.rollout.sigma2 = 5.0f;
    s.rollout.seed = 3;
    s.rollout.row_begin = row_begin;
    s.global_batch = global_batch;
    return s;
  }
  TbIterationCpu engine(int64_t batch, int64_t row_begin, int64_t global_batch) const {
    return TbIterationCpu(spec(batch, row_begin, global_batch), kShape, frequencies.data(),
                          mixture_target(gmm25.view(5.0f)), parameters.data(), 0.5f);
  }
};

TEST(TbIterationCpu, GradientMatchesCentralDifferencesOfTheLoss) {
  const Fixture fixture;
  const int64_t batch = 12;
  TbIterationCpu engine = fixture.engine(batch, 0, batch);
  engine.step(0, 0.3);  // a rollout (and one Adam step: parameters away from the initial draw)
  engine.gradient_at_last_rollout();
  const std::vector<float> gradient = engine.gradients();
  const double largest = std::fabs(*std::max_element(
      gradient.begin(), gradient.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); }));
  // Central differences in float: step 1e-2, error O(h^2 f''') plus rounding of a loss of O(10)
  // (relative 1e-7 / h): a few 1e-3 of the largest component.
  const float h = 1e-2f;
  auto& parameters = const_cast<std::vector<float>&>(engine.parameters());
  int checked = 0;
  for (size_t p = 0; p < parameters.size(); p += 7) {
    const float saved = parameters[p];
    parameters[p] = saved + h;
    const double up = engine.loss_sum_at_last_rollout();
    parameters[p] = saved - h;
    const double down = engine.loss_sum_at_last_rollout();
    parameters[p] = saved;
    const double difference = (up - down) / (2 * h) / batch;
    EXPECT_NEAR(gradient[p], difference, 0.02 * std::fabs(difference) + 5e-3 * largest) << "parameter " << p;
    ++checked;
  }
  EXPECT_GT(checked, 100);
  const size_t log_z = parameters.size() - 1;  // d loss / d log Z = mean residual, exactly linear
  parameters[log_z] += h;
  const double up = engine.loss_sum_at_last_rollout();
  parameters[log_z] -= 2 * h;
  const double down = engine.loss_sum_at_last_rollout();
  parameters[log_z] += h;
  EXPECT_NEAR(gradient[log_z], (up - down) / (2 * h) / batch, 1e-3 * std::fabs(gradient[log_z]) + 1e-4);
}

TEST(TbIterationCpu, AdamStepIsTiltsUpdate) {
  const Fixture fixture;
  TbIterationCpu engine = fixture.engine(8, 0, 8);
  const std::vector<float> before = engine.parameters();
  engine.step(0, 0.0);
  const std::vector<float>& g = engine.gradients();
  // First step: m = (1 - b1) g, v = (1 - b2) g^2, so p -= lr g / (|g| + eps (1 - b2)^(1/2)) ~ lr sign(g).
  for (size_t p = 0; p < before.size(); ++p) {
    const double lr = p + 1 < before.size() ? 1e-3 : 1e-1;
    const double m = 0.1 * g[p], v = 0.001 * static_cast<double>(g[p]) * g[p];
    const double expected = before[p] - lr / 0.1 * m / (std::sqrt(v / 0.001) + 1e-8);
    EXPECT_NEAR(engine.parameters()[p], expected, 1e-6 + 1e-5 * std::fabs(expected)) << "parameter " << p;
  }
}

// Sums two threads' buffers, as an all-reduce over two ranks would.
class TwoRankSum {
 public:
  void operator()(float* values, int64_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int generation = generation_;
    if (arrived_ == 0)
      sum_.assign(values, values + count);
    else
      for (int64_t i = 0; i < count; ++i) sum_[i] += values[i];
    if (++arrived_ == 2) {
      arrived_ = 0;
      ++generation_;
      result_ = sum_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return generation_ != generation; });
    }
    std::copy(result_.begin(), result_.end(), values);
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  int arrived_ = 0, generation_ = 0;
  std::vector<float> sum_, result_;
};

TEST(TbIterationCpu, TwoHalfBatchesWithSummedGradientsEqualTheWholeBatch) {
  const Fixture fixture;
  const int64_t batch = 16, iterations = 3;
  TbIterationCpu whole = fixture.engine(batch, 0, batch);
  TbIterationCpu first = fixture.engine(batch / 2, 0, batch),
                 second = fixture.engine(batch / 2, batch / 2, batch);
  TwoRankSum sum;
  TbIterationStats whole_stats, first_stats;
  for (uint32_t i = 0; i < iterations; ++i) {
    whole_stats = whole.step(i, 0.2);
    std::thread other([&] { second.step(i, 0.2, std::ref(sum)); });
    first_stats = first.step(i, 0.2, std::ref(sum));
    other.join();
  }
  EXPECT_NEAR(first_stats.loss_sum, whole_stats.loss_sum, 1e-4 * whole_stats.loss_sum);
  EXPECT_NEAR(first_stats.residual_sum, whole_stats.residual_sum, 1e-3 * std::fabs(whole_stats.loss_sum));
  for (size_t p = 0; p < whole.parameters().size(); ++p) {
    EXPECT_NEAR(first.parameters()[p], whole.parameters()[p], 1e-5 + 1e-5 * std::fabs(whole.parameters()[p]));
    EXPECT_EQ(first.parameters()[p], second.parameters()[p]);
  }
  // The half batches' trajectories are the whole batch's rows (noise by global row).
  const int64_t steps = 10, half = batch / 2;
  for (int64_t k = 0; k <= steps; ++k)
    for (int64_t r = 0; r < half; ++r)
      for (int j = 0; j < 2; ++j) {
        EXPECT_NEAR(first.states()[(k * half + r) * 2 + j], whole.states()[(k * batch + r) * 2 + j], 1e-4);
        EXPECT_NEAR(second.states()[(k * half + r) * 2 + j], whole.states()[(k * batch + half + r) * 2 + j],
                    1e-4);
      }
}

}  // namespace
}  // namespace tilt::kernels
