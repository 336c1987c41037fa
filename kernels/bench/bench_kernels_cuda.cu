// The rollouts on one CUDA device (T = 100): the analytic-drift one (25GMM's exact drift) against
// the device's measured copy bandwidth, and the network one (the 2-64-64-64-2 drift network plus
// the 25-mode prior, as RTB rolls out) against its measured FP32 FMA peak, for 300 .. 3 000 000
// trajectories: time per rollout and trajectory-steps/s. Then the whole 25GMM TB iteration
// (configs/samplers/gmm25_tb.yaml: rollout, scoring, Adam) at batch 300 / 3 000 / 30 000: time per
// iteration, transitions/s and the fraction of the FMA peak (1 + 3 forward passes, as
// bench_iteration counts them). Usage: bench_kernels_cuda
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "pinned_rollout/pinned_rollout.h"
#include "pinned_rollout/pinned_rollout_cuda.h"
#include "tb_iteration/tb_iteration_cuda.h"
#include "testing/gmm25.h"

namespace {

// 256 independent FMA chains per block of 256 threads x 8 accumulators, `iterations` rounds.
__global__ void fma_peak_kernel(float* out, int iterations) {
  float acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = threadIdx.x * 1e-3f + j;
  for (int i = 0; i < iterations; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[j] = fmaf(acc[j], 0.999999f, 1e-7f);
  float total = 0;
  for (int j = 0; j < 8; ++j) total += acc[j];
  if (total == 12345.0f) out[0] = total;
}

#define CHECK(call)                                                        \
  do {                                                                     \
    const cudaError_t status = (call);                                     \
    if (status != cudaSuccess) {                                           \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(status)); \
      return 1;                                                            \
    }                                                                      \
  } while (0)

// Best of `repeats` runs of `work` (asynchronous launches on the default stream) in milliseconds,
// timed by events; negative if a launch or the timing failed.
template <typename Work>
float best_ms(cudaEvent_t start, cudaEvent_t stop, int repeats, Work work) {
  float best = 1e30f;
  for (int i = 0; i < repeats; ++i) {
    float ms = 0;
    if (cudaEventRecord(start) != cudaSuccess || !work() || cudaEventRecord(stop) != cudaSuccess ||
        cudaEventSynchronize(stop) != cudaSuccess || cudaEventElapsedTime(&ms, start, stop) != cudaSuccess)
      return -1;
    best = std::fmin(best, ms);
  }
  return best;
}

}  // namespace

int main() {
  using namespace tilt::kernels;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("# bench_kernels_cuda: no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));

  // Ceiling: device-to-device copy of 1 GiB (bytes read + written per second).
  const size_t copy_bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  CHECK(cudaMalloc(&a, copy_bytes));
  CHECK(cudaMalloc(&b, copy_bytes));
  const float copy_ms = best_ms(start, stop, 5, [&] {
    return cudaMemcpyAsync(b, a, copy_bytes, cudaMemcpyDeviceToDevice) == cudaSuccess;
  });
  if (copy_ms < 0) return 1;
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  const double peak_bytes = 2.0 * copy_bytes / (copy_ms * 1e-3);
  std::printf("# %s: measured copy bandwidth %.2f TB/s (read + write)\n", prop.name, peak_bytes / 1e12);

  const Gmm25 gmm25;
  float *d_means, *d_log_weights, *d_variances;
  CHECK(cudaMalloc(&d_means, gmm25.means.size() * 4));
  CHECK(cudaMalloc(&d_log_weights, 25 * 4));
  CHECK(cudaMalloc(&d_variances, 25 * 4));
  CHECK(cudaMemcpy(d_means, gmm25.means.data(), gmm25.means.size() * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_log_weights, gmm25.log_weights.data(), 25 * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_variances, gmm25.variances.data(), 25 * 4, cudaMemcpyHostToDevice));
  const MixtureView mixture = gmm25.view(5.0f, d_means, d_log_weights, d_variances);

  // FP32 FMA peak: enough blocks to fill every SM many times over.
  float* sink = nullptr;
  CHECK(cudaMalloc(&sink, sizeof(float)));
  const int peak_blocks = prop.multiProcessorCount * 64, peak_iterations = 4096;
  const float peak_ms = best_ms(start, stop, 5, [&] {
    fma_peak_kernel<<<peak_blocks, 256>>>(sink, peak_iterations);
    return cudaGetLastError() == cudaSuccess;
  });
  if (peak_ms < 0) return 1;
  const double peak_flops = 2.0 * peak_blocks * 256.0 * 8 * peak_iterations / (peak_ms * 1e-3);
  std::printf("# measured FP32 FMA peak %.1f TFLOP/s\n", peak_flops / 1e12);

  std::printf("%-14s %12s %18s %12s\n", "trajectories", "ms/rollout", "traj-steps/s", "of_copy_bw");
  for (int64_t batch : {300LL, 3000LL, 30000LL, 300000LL, 3000000LL}) {
    PinnedRolloutSpec spec;
    spec.steps = 100;
    spec.batch = batch;
    spec.dim = 2;
    spec.sigma2 = 5.0f;
    float* states = nullptr;
    const size_t bytes = static_cast<size_t>(spec.steps + 1) * batch * 2 * sizeof(float);
    CHECK(cudaMalloc(&states, bytes));
    const float best = best_ms(start, stop, 10, [&] {
      return pinned_rollout_mixture_cuda(spec, mixture, states, nullptr, nullptr) == 0;
    });
    if (best < 0) return 1;
    CHECK(cudaFree(states));
    std::printf("%-14lld %12.3f %18.3e %11.1f%%\n", static_cast<long long>(batch), best,
                100.0 * batch / (best * 1e-3), 100.0 * bytes / (best * 1e-3) / peak_bytes);
  }

  // The network rollout: random weights of the benchmark network's shape (D 2, H 64, F 64, L 2).
  const FourierMlpShape shape{2, 64, 64, 2, 2};
  const int64_t h = 64, f = 64;
  const int64_t parameter_count = fourier_mlp_parameter_count(shape);
  std::vector<float> host_parameters(parameter_count), frequencies(f);
  for (int64_t i = 0; i < parameter_count; ++i) host_parameters[i] = 0.05f * std::sin(0.37f * i);
  for (int i = 0; i < f; ++i) frequencies[i] = 0.1f + 99.9f * i / (f - 1);
  float *parameters, *d_frequencies, *embedding;
  CHECK(cudaMalloc(&parameters, parameter_count * 4));
  CHECK(cudaMalloc(&d_frequencies, f * 4));
  CHECK(cudaMalloc(&embedding, 100 * h * 4));
  CHECK(cudaMemcpy(parameters, host_parameters.data(), parameter_count * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_frequencies, frequencies.data(), f * 4, cudaMemcpyHostToDevice));
  const FourierMlpDevice network{shape, fourier_mlp_flat_view(static_cast<const float*>(parameters), shape),
                                 d_frequencies, embedding};
  std::printf("%-14s %12s %18s %12s  (network + 25-mode prior)\n", "trajectories", "ms/rollout",
              "traj-steps/s", "of_fma_peak");
  for (int64_t batch : {300LL, 3000LL, 30000LL, 300000LL}) {
    PinnedRolloutSpec spec;
    spec.steps = 100;
    spec.batch = batch;
    spec.dim = 2;
    spec.sigma2 = 5.0f;
    float* states = nullptr;
    CHECK(cudaMalloc(&states, static_cast<size_t>(spec.steps + 1) * batch * 2 * sizeof(float)));
    const float best = best_ms(start, stop, 5, [&] {
      return pinned_rollout_mlp_cuda(spec, network, &mixture, {states, nullptr, nullptr, nullptr}, nullptr) ==
             0;
    });
    if (best < 0) return 1;
    CHECK(cudaFree(states));
    const double flops = shape.flops_per_sample() * 100.0 * batch;
    std::printf("%-14lld %12.3f %18.3e %11.1f%%\n", static_cast<long long>(batch), best,
                100.0 * batch / (best * 1e-3), 100.0 * flops / (best * 1e-3) / peak_flops);
  }

  std::printf("%-14s %12s %18s %12s  (25GMM TB iteration)\n", "batch", "ms/iteration", "transitions/s",
              "of_fma_peak");
  for (int64_t batch : {300LL, 3000LL, 30000LL}) {
    TbIterationSpec spec;
    spec.rollout.steps = 100;
    spec.rollout.batch = batch;
    spec.rollout.dim = 2;
    spec.rollout.sigma2 = 5.0f;
    spec.global_batch = batch;
    TbIterationCuda engine(spec, shape, frequencies.data(), mixture_target(gmm25.view(5.0f)),
                           host_parameters.data(), 0.0f);
    CHECK(static_cast<cudaError_t>(engine.status()));
    uint32_t iteration = 0;
    const float best = best_ms(start, stop, 10, [&] { return engine.step(iteration++, 0.2) == 0; });
    if (best < 0) return 1;
    const double flops = 4 * shape.flops_per_sample() * 100.0 * batch;
    std::printf("%-14lld %12.3f %18.3e %11.1f%%\n", static_cast<long long>(batch), best,
                100.0 * batch / (best * 1e-3), 100.0 * flops / (best * 1e-3) / peak_flops);
  }
  return 0;
}
