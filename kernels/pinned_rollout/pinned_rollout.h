// A whole forward rollout of the pinned Brownian process in one call: per step, the policy network
// (fused, FourierMlpCpu) and/or an analytic mixture drift, counter-based noise (the values
// CounterRng::normal gives the same rows), the step and its path terms. No allocation per step and
// no framework call inside the loop: what LibTorch spends on per-op overhead at every step is gone.
#pragma once

#include <cstdint>

#include "common.h"
#include "mixture_drift/mixture_drift.h"
#include "pinned_rollout/pinned_step.h"

namespace tilt::kernels {

class FourierMlpCpu;

struct PinnedRolloutSpec {
  int steps = 0;      // T
  int64_t batch = 0;  // rows of this call
  int dim = 0;        // D (<= kMaxFusedDim)
  float sigma2 = 0;
  double exploration_std = 0;
  uint64_t seed = 0;    // CounterRng's seed
  uint32_t stream = 1;  // RngStream::kRolloutNoise
  uint32_t iteration = 0;
  int64_t row_begin = 0;  // global row of this call's first trajectory
  TILT_HOST_DEVICE PinnedStepConstants constants() const {
    const double dt = 1.0 / steps;
    return {dim, static_cast<float>(dt), sigma2,
            static_cast<float>(sqrt(dt * sigma2 + exploration_std * exploration_std))};
  }
};

// Standard normals of row `row` (global), step `step`: out [dim].
TILT_HOST_DEVICE inline void rollout_noise(const PinnedRolloutSpec& spec, uint32_t row, int step, float* out);

// states [T + 1, B, D] (x_0 = 0 is written), reference_drift and policy_drift [T, B, D] (or null),
// terms [B] (or null). `policy` null: zero policy drift; `reference` null: zero reference drift.
void pinned_rollout_cpu(const PinnedRolloutSpec& spec, FourierMlpCpu* policy, const MixtureView* reference,
                        float* states, float* reference_drift, PathTerms* terms,
                        float* policy_drift = nullptr);

// The same on a CUDA device, for an analytic drift (the mixture as the whole drift, no network):
// one thread per trajectory; all pointers are device pointers. Returns the launch's cudaError_t.
int pinned_rollout_mixture_cuda(const PinnedRolloutSpec& spec, const MixtureView& drift, float* states,
                                PathTerms* terms, cudaStream_t stream);

}  // namespace tilt::kernels

#include "philox.h"

namespace tilt::kernels {

// The values CounterRng::normal gives, without the Box-Muller pairs past the last column.
TILT_HOST_DEVICE inline void rollout_noise(const PinnedRolloutSpec& spec, uint32_t row, int step,
                                           float* out) {
  const PhiloxKey key = philox_key(spec.seed, spec.stream);
  for (int block = 0; 4 * block < spec.dim; ++block) {
    const Philox4x32 bits = philox4x32_10(
        Philox4x32{{row, static_cast<uint32_t>(block), static_cast<uint32_t>(step), spec.iteration}}, key.k0,
        key.k1);
    for (int pair = 0; pair < 2 && 4 * block + 2 * pair < spec.dim; ++pair) {
      float z[2];
      box_muller(philox_uniform(bits.v[2 * pair]), philox_uniform(bits.v[2 * pair + 1]), z[0], z[1]);
      for (int k = 0; k < 2 && 4 * block + 2 * pair + k < spec.dim; ++k) out[4 * block + 2 * pair + k] = z[k];
    }
  }
}

}  // namespace tilt::kernels
