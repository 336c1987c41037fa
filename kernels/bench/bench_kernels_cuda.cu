// The analytic-drift rollout on one CUDA device (25GMM's exact drift, T = 100): time per rollout,
// trajectory-steps/s and the bytes it writes against the device's measured copy bandwidth, for
// 300 .. 3 000 000 trajectories. Usage: bench_kernels_cuda
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "pinned_rollout/pinned_rollout.h"

namespace {

#define CHECK(call)                                                                   \
  do {                                                                                \
    const cudaError_t status = (call);                                                \
    if (status != cudaSuccess) {                                                      \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(status));            \
      return 1;                                                                       \
    }                                                                                 \
  } while (0)

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
  float copy_ms = 1e30f;
  for (int i = 0; i < 5; ++i) {
    CHECK(cudaEventRecord(start));
    CHECK(cudaMemcpy(b, a, copy_bytes, cudaMemcpyDeviceToDevice));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    copy_ms = std::fmin(copy_ms, ms);
  }
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  const double peak_bytes = 2.0 * copy_bytes / (copy_ms * 1e-3);
  std::printf("# %s: measured copy bandwidth %.2f TB/s (read + write)\n", prop.name, peak_bytes / 1e12);

  std::vector<float> means, log_weights, variances;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      means.insert(means.end(), {-10.0f + 5 * i, -10.0f + 5 * j});
      log_weights.push_back(std::log(1.0f / 25));
      variances.push_back(0.3f);
    }
  float *d_means, *d_log_weights, *d_variances;
  CHECK(cudaMalloc(&d_means, means.size() * 4));
  CHECK(cudaMalloc(&d_log_weights, 25 * 4));
  CHECK(cudaMalloc(&d_variances, 25 * 4));
  CHECK(cudaMemcpy(d_means, means.data(), means.size() * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_log_weights, log_weights.data(), 25 * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_variances, variances.data(), 25 * 4, cudaMemcpyHostToDevice));
  const MixtureView mixture{25, 2, d_means, d_log_weights, d_variances, 5.0f};

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
    float best = 1e30f;
    for (int i = 0; i < 10; ++i) {
      CHECK(cudaEventRecord(start));
      if (pinned_rollout_mixture_cuda(spec, mixture, states, nullptr, nullptr) != 0) return 1;
      CHECK(cudaEventRecord(stop));
      CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CHECK(cudaEventElapsedTime(&ms, start, stop));
      best = std::fmin(best, ms);
    }
    CHECK(cudaFree(states));
    std::printf("%-14lld %12.3f %18.3e %11.1f%%\n", static_cast<long long>(batch), best,
                100.0 * batch / (best * 1e-3), 100.0 * bytes / (best * 1e-3) / peak_bytes);
  }
  return 0;
}
