// Every CUDA kernel against its CPU oracle: the same Philox bits, float-tolerance maths. Skips where
// no CUDA device is present (this runs for real on the GPU machine: bench/gpu/run.sh).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "analytic_target/analytic_target.h"
#include "fourier_mlp/fourier_mlp_cpu.h"
#include "mixture_drift/mixture_drift_cuda.h"
#include "philox.h"
#include "pinned_rollout/pinned_rollout.h"
#include "pinned_rollout/pinned_rollout_cuda.h"
#include "tb_iteration/tb_iteration_cpu.h"
#include "tb_iteration/tb_iteration_cuda.h"
#include "testing/gmm25.h"

namespace tilt::kernels {
namespace {

bool have_device() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

#define SKIP_WITHOUT_DEVICE() \
  if (!have_device()) GTEST_SKIP() << "no CUDA device"

template <typename T>
struct DeviceBuffer {
  T* data = nullptr;
  size_t size = 0;
  explicit DeviceBuffer(size_t n) : size(n) { EXPECT_EQ(cudaMalloc(&data, n * sizeof(T)), cudaSuccess); }
  DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    EXPECT_EQ(cudaMemcpy(data, host.data(), size * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(data); }
  std::vector<T> host() const {
    std::vector<T> out(size);
    EXPECT_EQ(cudaMemcpy(out.data(), data, size * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
};

__global__ void philox_bits_kernel(PhiloxKey key, uint32_t* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const Philox4x32 bits = philox4x32_10(Philox4x32{{static_cast<uint32_t>(i), 1u, 2u, 3u}}, key.k0, key.k1);
  for (int k = 0; k < 4; ++k) out[4 * i + k] = bits.v[k];
}

TEST(KernelsCuda, PhiloxBitsAreTheHostsBits) {
  SKIP_WITHOUT_DEVICE();
  const int n = 4096;
  const PhiloxKey key = philox_key(1234567890123ull, 1);
  DeviceBuffer<uint32_t> device(4 * n);
  philox_bits_kernel<<<(n + 127) / 128, 128>>>(key, device.data, n);
  const std::vector<uint32_t> bits = device.host();
  for (int i = 0; i < n; ++i) {
    const Philox4x32 host = philox4x32_10(Philox4x32{{static_cast<uint32_t>(i), 1u, 2u, 3u}}, key.k0, key.k1);
    for (int k = 0; k < 4; ++k) ASSERT_EQ(bits[4 * i + k], host.v[k]);
  }
}

TEST(KernelsCuda, MixtureDriftMatchesCpu) {
  SKIP_WITHOUT_DEVICE();
  const Gmm25 g;
  const DeviceBuffer<float> means(g.means), log_weights(g.log_weights), variances(g.variances);
  const MixtureView host_view = g.view(5.0f),
                    device_view = g.view(5.0f, means.data, log_weights.data, variances.data);
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 5.0f);
  const int rows = 10000;
  std::vector<float> x(2 * rows);
  for (float& v : x) v = normal(rng);
  const DeviceBuffer<float> dx(x);
  DeviceBuffer<float> du(2 * rows);
  for (float t : {0.0f, 0.3f, 0.99f, 1.0f}) {
    ASSERT_EQ(mixture_follmer_drift_cuda(device_view, dx.data, rows, t, du.data, nullptr), 0);
    std::vector<float> expected(2 * rows);
    mixture_follmer_drift_cpu(host_view, x.data(), rows, t, expected.data());
    const std::vector<float> u = du.host();
    // Device expf/logf are within 2 ulp of the host's; terms up to ~|mu| sigma2 / s^2 = 170.
    for (int i = 0; i < 2 * rows; ++i)
      ASSERT_NEAR(u[i], expected[i], 1e-4f * (1 + std::abs(expected[i]))) << t;
  }
}

TEST(KernelsCuda, AnalyticRolloutMatchesCpu) {
  SKIP_WITHOUT_DEVICE();
  const Gmm25 g;
  const DeviceBuffer<float> means(g.means), log_weights(g.log_weights), variances(g.variances);
  const MixtureView host_view = g.view(5.0f),
                    device_view = g.view(5.0f, means.data, log_weights.data, variances.data);
  PinnedRolloutSpec spec;
  spec.steps = 100;
  spec.batch = 3000;
  spec.dim = 2;
  spec.sigma2 = 5.0f;
  spec.seed = 7;
  spec.iteration = 11;
  spec.row_begin = 500;
  DeviceBuffer<float> states((spec.steps + 1) * spec.batch * 2);
  DeviceBuffer<PathTerms> terms(spec.batch);
  ASSERT_EQ(pinned_rollout_mixture_cuda(spec, device_view, states.data, terms.data, nullptr), 0);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> expected((spec.steps + 1) * spec.batch * 2);
  std::vector<PathTerms> expected_terms(spec.batch);
  pinned_rollout_cpu(spec, nullptr, &host_view, expected.data(), nullptr, expected_terms.data());
  const std::vector<float> got = states.host();
  const std::vector<PathTerms> got_terms = terms.host();
  // 100 steps of ulp-level differences in exp/log/sin/cos, carried along the path.
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], 2e-3f * (1 + std::abs(expected[i]))) << i;
  for (int64_t r = 0; r < spec.batch; ++r) {
    EXPECT_NEAR(got_terms[r].log_forward, expected_terms[r].log_forward,
                1e-2f * (1 + std::abs(expected_terms[r].log_forward)));
    EXPECT_NEAR(got_terms[r].log_backward, expected_terms[r].log_backward,
                1e-2f * (1 + std::abs(expected_terms[r].log_backward)));
  }
}

// The network rollout (with the 25-mode prior, as RTB rolls out) against FourierMlpCpu +
// pinned_rollout_cpu with the same weights: the same noise, float-tolerance states and drifts.
TEST(KernelsCuda, NetworkRolloutMatchesCpu) {
  SKIP_WITHOUT_DEVICE();
  const FourierMlpShape shape{2, 64, 64, 2, 2};
  const int64_t h = 64, f = 64;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.15f);
  std::vector<float> frequencies(f), parameters(fourier_mlp_parameter_count(shape));
  for (int i = 0; i < f; ++i) frequencies[i] = 0.1f + 99.9f * i / (f - 1);
  for (float& p : parameters) p = normal(rng);
  const DeviceBuffer<float> device_parameters(parameters), device_frequencies(frequencies);
  const Gmm25 g;
  const DeviceBuffer<float> means(g.means), log_weights(g.log_weights), variances(g.variances);
  const MixtureView host_prior = g.view(5.0f),
                    device_prior = g.view(5.0f, means.data, log_weights.data, variances.data);
  PinnedRolloutSpec spec;
  spec.steps = 100;
  spec.batch = 1000;
  spec.dim = 2;
  spec.sigma2 = 5.0f;
  spec.exploration_std = 0.2;
  spec.seed = 5;
  spec.iteration = 2;
  const size_t block = static_cast<size_t>(spec.batch) * 2;
  DeviceBuffer<float> embedding(100 * h), states((spec.steps + 1) * block), prior_drift(spec.steps * block),
      policy_drift(spec.steps * block);
  FourierMlpDevice network{shape,
                           fourier_mlp_flat_view(static_cast<const float*>(device_parameters.data), shape),
                           device_frequencies.data, embedding.data};
  ASSERT_EQ(pinned_rollout_mlp_cuda(spec, network, &device_prior,
                                    {states.data, prior_drift.data, policy_drift.data, nullptr}, nullptr),
            0);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  FourierMlpCpu cpu(shape, frequencies.data());
  cpu.set_weights(fourier_mlp_flat_view(static_cast<const float*>(parameters.data()), shape));
  std::vector<float> expected_states((spec.steps + 1) * block), expected_prior(spec.steps * block),
      expected_policy(spec.steps * block);
  pinned_rollout_cpu(spec, &cpu, &host_prior, expected_states.data(), expected_prior.data(), nullptr,
                     expected_policy.data());
  const std::vector<float> got_states = states.host(), got_policy = policy_drift.host();
  // Different summation orders and device transcendentals, carried along 100 steps.
  for (size_t i = 0; i < got_states.size(); ++i)
    ASSERT_NEAR(got_states[i], expected_states[i], 2e-3f * (1 + std::abs(expected_states[i]))) << i;
  for (size_t i = 0; i < got_policy.size(); ++i)
    ASSERT_NEAR(got_policy[i], expected_policy[i], 2e-3f * (1 + std::abs(expected_policy[i]))) << i;
}

// Each analytic target's log-reward and score on the device against the CPU row loops.
TEST(KernelsCuda, AnalyticTargetsMatchCpu) {
  SKIP_WITHOUT_DEVICE();
  const Gmm25 g;
  const DeviceBuffer<float> means(g.means), log_weights(g.log_weights), variances(g.variances);
  const AnalyticTarget mixture_host = mixture_target(g.view(5.0f));
  const AnalyticTarget mixture_device =
      mixture_target(g.view(5.0f, means.data, log_weights.data, variances.data));
  const std::vector<std::pair<AnalyticTarget, AnalyticTarget>> targets{
      {mixture_host, mixture_device},
      {funnel_target(10, 9.0f), funnel_target(10, 9.0f)},
      {manywell_target(32), manywell_target(32)}};
  for (const auto& [host, device] : targets) {
    const int rows = 5000, dim = host.dim;
    std::mt19937 rng(4);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> x(static_cast<size_t>(rows) * dim);
    for (float& v : x) v = normal(rng);
    const DeviceBuffer<float> device_x(x);
    DeviceBuffer<float> log_reward(rows), score(x.size());
    ASSERT_EQ(analytic_log_reward_cuda(device, device_x.data, rows, log_reward.data, nullptr), 0);
    ASSERT_EQ(analytic_score_cuda(device, device_x.data, rows, score.data, nullptr), 0);
    std::vector<float> expected_log_reward(rows), expected_score(x.size());
    analytic_log_reward_cpu(host, x.data(), rows, expected_log_reward.data());
    analytic_score_cpu(host, x.data(), rows, expected_score.data());
    const std::vector<float> got_log_reward = log_reward.host(), got_score = score.host();
    for (int r = 0; r < rows; ++r)
      ASSERT_NEAR(got_log_reward[r], expected_log_reward[r], 1e-5f * (1 + std::abs(expected_log_reward[r])));
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(got_score[i], expected_score[i], 1e-5f * (1 + std::abs(expected_score[i])));
  }
}

// The whole TB iteration on the device against the CPU engine from the same parameters: states,
// the loss's sums and every gradient (network and log Z) of the first iteration, for both hidden
// widths the device engine takes and a batch that leaves a partial tile per step; then three
// iterations with Adam in between.
TEST(KernelsCuda, TbIterationMatchesCpu) {
  SKIP_WITHOUT_DEVICE();
  for (const int hidden : {32, 64}) {
    const FourierMlpShape shape{2, hidden, 16, 2, 2};
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 0.15f);
    std::vector<float> frequencies(shape.features), parameters(fourier_mlp_parameter_count(shape));
    for (int i = 0; i < shape.features; ++i) frequencies[i] = 0.1f + 99.9f * i / (shape.features - 1);
    for (float& p : parameters) p = normal(rng);
    const Gmm25 g;
    TbIterationSpec spec;
    spec.rollout.steps = 100;
    spec.rollout.batch = 300;
    spec.rollout.dim = 2;
    spec.rollout.sigma2 = 5.0f;
    spec.rollout.seed = 9;
    spec.global_batch = 300;
    TbIterationCpu cpu(spec, shape, frequencies.data(), mixture_target(g.view(5.0f)), parameters.data(),
                       0.0f);
    TbIterationCuda gpu(spec, shape, frequencies.data(), mixture_target(g.view(5.0f)), parameters.data(),
                        0.0f);
    ASSERT_EQ(gpu.status(), 0);

    ASSERT_EQ(gpu.gradients(0, 0.2), 0);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const TbIterationStats expected = cpu.step(0, 0.2);  // gradients() below are the pre-Adam ones
    const TbIterationStats got = gpu.stats();
    EXPECT_NEAR(got.loss_sum, expected.loss_sum, 1e-3 * expected.loss_sum) << "hidden " << hidden;
    EXPECT_NEAR(got.residual_sum, expected.residual_sum,
                1e-3 * std::sqrt(expected.residual_square_sum * 300));
    const std::vector<float> states = gpu.download(gpu.device().states, cpu.states().size());
    for (size_t i = 0; i < states.size(); ++i)
      ASSERT_NEAR(states[i], cpu.states()[i], 2e-3f * (1 + std::abs(cpu.states()[i]))) << i;
    const std::vector<float> gradients = gpu.download(gpu.device().gradients, cpu.gradients().size());
    float largest = 0;
    for (float v : cpu.gradients()) largest = std::max(largest, std::abs(v));
    for (size_t p = 0; p < gradients.size(); ++p)
      ASSERT_NEAR(gradients[p], cpu.gradients()[p], 1e-3f * largest + 1e-3f * std::abs(cpu.gradients()[p]))
          << "hidden " << hidden << " parameter " << p;

    ASSERT_EQ(gpu.adam(), 0);
    for (uint32_t i = 1; i < 3; ++i) {
      const TbIterationStats cpu_stats = cpu.step(i, 0.1);
      ASSERT_EQ(gpu.step(i, 0.1), 0);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      EXPECT_NEAR(gpu.stats().loss_sum, cpu_stats.loss_sum, 1e-2 * cpu_stats.loss_sum) << "iteration " << i;
    }
  }
}

}  // namespace
}  // namespace tilt::kernels
