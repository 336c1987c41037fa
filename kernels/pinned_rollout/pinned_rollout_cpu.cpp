#include <algorithm>
#include <vector>

#include "fourier_mlp/fourier_mlp_cpu.h"
#include "pinned_rollout/pinned_rollout.h"

namespace tilt::kernels {

void pinned_rollout_cpu(const PinnedRolloutSpec& spec, FourierMlpCpu* policy, const MixtureView* reference,
                        float* states, float* reference_drift, PathTerms* terms, float* policy_out) {
  const int64_t b = spec.batch, d = spec.dim, block = b * d;
  const PinnedStepConstants constants = spec.constants();
  std::vector<float> policy_drift(block, 0.0f), prior(reference ? block : 0), noise(d);
  std::fill(states, states + block, 0.0f);
  if (terms) std::fill(terms, terms + b, PathTerms{});
  for (int i = 0; i < spec.steps; ++i) {
    const float t = static_cast<float>(i) * constants.dt;
    const float* x = states + i * block;
    float* x_next = states + (i + 1) * block;
    if (policy) {
      policy->forward(x, &t, 1, static_cast<int>(b), policy_drift.data());
      if (policy_out) std::copy(policy_drift.begin(), policy_drift.end(), policy_out + i * block);
    }
    if (reference) {
      mixture_follmer_drift_cpu(*reference, x, b, t, prior.data());
      if (reference_drift) std::copy(prior.begin(), prior.end(), reference_drift + i * block);
    }
    for (int64_t r = 0; r < b; ++r) {
      rollout_noise(spec, static_cast<uint32_t>(spec.row_begin + r), i, noise.data());
      pinned_forward_step(constants, i, x + r * d, policy_drift.data() + r * d,
                          reference ? prior.data() + r * d : nullptr, noise.data(), x_next + r * d,
                          terms ? terms + r : nullptr);
    }
  }
}

}  // namespace tilt::kernels
