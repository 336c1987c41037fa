// One Euler-Maruyama step of the pinned Brownian process (src/process/pinned_brownian.h) for one
// trajectory, with the path terms every trajectory-balance objective is made of accumulated in the
// same pass: the next state from the state, the policy's and the reference's drift, the noise and
// the schedule constants (exploration widening the kernel), and log p_F, log p_B and the
// drift-difference log-ratio of the step that was taken. Host and device.
#pragma once

#include <cmath>

#include "common.h"

namespace tilt::kernels {

struct PinnedStepConstants {
  int dim = 0;
  float dt = 0;           // 1 / T
  float sigma2 = 0;       // the reference's diffusion rate
  float noise_scale = 0;  // sqrt(dt sigma2 + exploration_std^2)
};

// Per trajectory, summed over steps and dimensions.
struct PathTerms {
  float log_forward = 0;   // log p_F(x_{i+1} | x_i) under drift policy + reference, variance dt sigma2
  float log_backward = 0;  // log p_B(x_i | x_{i+1}) of the fixed bridge (0 at step 0)
  float log_ratio = 0;     // log p_F - log p_F under the reference drift alone (posterior tasks)
};

// Adds to `terms` the path terms of the step x -> x_next (step `step`) under the policy's and the
// reference's drift (reference may be null: zero).
TILT_HOST_DEVICE inline void pinned_step_terms(const PinnedStepConstants& c, int step, const float* x,
                                               const float* x_next, const float* policy,
                                               const float* reference, PathTerms& terms) {
  const float variance = c.dt * c.sigma2;
  const float ratio = static_cast<float>(step) / static_cast<float>(step + 1);
  float forward = 0, backward = 0, cross = 0, policy2 = 0;
  for (int d = 0; d < c.dim; ++d) {
    const float reference_d = reference ? reference[d] : 0.0f;
    const float residual = x_next[d] - x[d] - c.dt * (policy[d] + reference_d);
    forward += residual * residual;
    const float reference_residual = x_next[d] - x[d] - c.dt * reference_d;
    cross += policy[d] * reference_residual;
    policy2 += policy[d] * policy[d];
    const float back = x[d] - ratio * x_next[d];
    backward += back * back;
  }
  terms.log_forward += -0.5f * forward / variance - 0.5f * c.dim * (kLog2PiF + logf(variance));
  if (step > 0)
    terms.log_backward +=
        -0.5f * backward / (ratio * variance) - 0.5f * c.dim * (kLog2PiF + logf(ratio * variance));
  terms.log_ratio += (cross - 0.5f * c.dt * policy2) / c.sigma2;
}

// x_next = x + dt (policy + reference) + noise_scale z; reference may be null (zero). `terms`, if
// given, gains this step's contribution.
TILT_HOST_DEVICE inline void pinned_forward_step(const PinnedStepConstants& c, int step, const float* x,
                                                 const float* policy, const float* reference,
                                                 const float* noise, float* x_next, PathTerms* terms) {
  for (int d = 0; d < c.dim; ++d)
    x_next[d] = x[d] + c.dt * (policy[d] + (reference ? reference[d] : 0.0f)) + c.noise_scale * noise[d];
  if (terms) pinned_step_terms(c, step, x, x_next, policy, reference, *terms);
}

}  // namespace tilt::kernels
