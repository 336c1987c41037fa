// The mixture's Föllmer drift for a batch of states on a CUDA device, one thread per state.
#include "mixture_drift/mixture_drift_cuda.h"

namespace tilt::kernels {
namespace {

__global__ void mixture_follmer_drift_kernel(MixtureView mixture, const float* x, int64_t rows, float t,
                                             float* u) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r < rows) mixture_follmer_drift(mixture, x + r * mixture.dim, t, u + r * mixture.dim);
}

}  // namespace

int mixture_follmer_drift_cuda(const MixtureView& mixture, const float* x, int64_t rows, float t, float* u,
                               cudaStream_t stream) {
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>((rows + kThreads - 1) / kThreads);
  mixture_follmer_drift_kernel<<<blocks, kThreads, 0, stream>>>(mixture, x, rows, t, u);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace tilt::kernels
