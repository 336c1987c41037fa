#include "analytic_target/analytic_target.h"

namespace tilt::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void log_reward_kernel(AnalyticTarget target, const float* x, int64_t rows, float* out) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r < rows) out[r] = analytic_log_reward(target, x + r * target.dim);
}

__global__ void score_kernel(AnalyticTarget target, const float* x, int64_t rows, float* out) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r < rows) analytic_score(target, x + r * target.dim, out + r * target.dim);
}

unsigned blocks(int64_t rows) { return static_cast<unsigned>((rows + kThreads - 1) / kThreads); }

}  // namespace

int analytic_log_reward_cuda(const AnalyticTarget& target, const float* x, int64_t rows, float* out,
                             cudaStream_t stream) {
  if (rows <= 0) return 0;
  log_reward_kernel<<<blocks(rows), kThreads, 0, stream>>>(target, x, rows, out);
  return static_cast<int>(cudaGetLastError());
}

int analytic_score_cuda(const AnalyticTarget& target, const float* x, int64_t rows, float* out,
                        cudaStream_t stream) {
  if (rows <= 0) return 0;
  score_kernel<<<blocks(rows), kThreads, 0, stream>>>(target, x, rows, out);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace tilt::kernels
