// The analytic-drift rollout on a CUDA device: one thread per trajectory runs all T steps with its
// state in registers, the mixture's drift by online log-sum-exp and Philox noise computed in place:
// the only memory traffic is the states it writes.
#include "pinned_rollout/pinned_rollout.h"

namespace tilt::kernels {
namespace {

__global__ void pinned_rollout_mixture_kernel(PinnedRolloutSpec spec, MixtureView drift, float* states,
                                              PathTerms* terms) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r >= spec.batch) return;
  const PinnedStepConstants constants = spec.constants();
  const int d = spec.dim;
  const int64_t block = spec.batch * d;
  float x[kMaxFusedDim], next[kMaxFusedDim], u[kMaxFusedDim], noise[kMaxFusedDim];
  const float zero[kMaxFusedDim] = {};
  for (int j = 0; j < d; ++j) {
    x[j] = 0;
    states[r * d + j] = 0;
  }
  PathTerms path;
  for (int i = 0; i < spec.steps; ++i) {
    mixture_follmer_drift(drift, x, static_cast<float>(i) * constants.dt, u);
    rollout_noise(spec, static_cast<uint32_t>(spec.row_begin + r), i, noise);
    pinned_forward_step(constants, i, x, zero, u, noise, next, terms ? &path : nullptr);
    for (int j = 0; j < d; ++j) {
      x[j] = next[j];
      states[(i + 1) * block + r * d + j] = next[j];
    }
  }
  if (terms) terms[r] = path;
}

}  // namespace

int pinned_rollout_mixture_cuda(const PinnedRolloutSpec& spec, const MixtureView& drift, float* states,
                                PathTerms* terms, cudaStream_t stream) {
  constexpr int kThreads = 128;
  const auto blocks = static_cast<unsigned>((spec.batch + kThreads - 1) / kThreads);
  pinned_rollout_mixture_kernel<<<blocks, kThreads, 0, stream>>>(spec, drift, states, terms);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace tilt::kernels
