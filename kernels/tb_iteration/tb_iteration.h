// One trajectory-balance training iteration of a pinned-Brownian sampler whose drift is the fused
// Fourier network, with an analytic target (mixture, funnel, Manywell), torch-free: the rollout, the target's
// log-density at the terminal states, each trajectory's TB residual, the loss's gradient with
// respect to every network output, the network's backward pass, and Adam on the flat parameters
// (the network's, then log Z). The same maths as tilt's `objective.kind: tb` on the same config
// (src/objective/trajectory_balance.cpp, no log-reward floor, no loss cutoff):
//   residual_i = log Z + sum_k [log p_F(x_{k+1} | x_k) - log p_B(x_k | x_{k+1})] - log r(x_T,i)
//   loss = 1 / (2 B) sum_i residual_i^2     (B the global batch; the rollout carries no gradient)
//   d loss / d u_{k,i} = residual_i / B * (x_{k+1} - x_k - dt u_{k,i}) / sigma2
// The CPU engine (tb_iteration_cpu.h) is the oracle of the CUDA one (tb_iteration_cuda.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "analytic_target/analytic_target.h"
#include "common.h"
#include "pinned_rollout/pinned_rollout.h"

namespace tilt::kernels {

struct TbIterationSpec {
  PinnedRolloutSpec rollout;  // batch: this rank's trajectories; iteration and exploration per call
  int64_t global_batch = 0;   // the loss's normaliser, summed over ranks
  float network_lr = 1e-3f, log_z_lr = 1e-1f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // tilt's Adam (src/train/adam.h)
};

// Sums over this call's trajectories (all ranks' once summed): sum of per-trajectory losses
// (residual^2 / 2), of residuals and of squared residuals.
struct TbIterationStats {
  double loss_sum = 0, residual_sum = 0, residual_square_sum = 0;
};
inline constexpr int kTbStatsCount = 3;

// d loss / d u for one coordinate: `weight` is residual_i / B.
TILT_HOST_DEVICE inline float tb_output_gradient(float weight, float x, float x_next, float u, float dt,
                                                 float sigma2) {
  return weight * (x_next - x - dt * u) / sigma2;
}

// One Adam update of one parameter, tilt's form: p -= lr / c1 * m / (sqrt(v / c2) + eps).
struct AdamStep {
  float lr, beta1, beta2, eps, correction1, correction2;
};
TILT_HOST_DEVICE inline void adam_update(const AdamStep& s, float grad, float& parameter, float& m,
                                         float& v) {
  m = s.beta1 * m + (1 - s.beta1) * grad;
  v = s.beta2 * v + (1 - s.beta2) * grad * grad;
  parameter -= s.lr / s.correction1 * m / (sqrtf(v / s.correction2) + s.eps);
}
inline AdamStep adam_step(const TbIterationSpec& spec, float lr, int64_t step) {
  return {lr,
          spec.beta1,
          spec.beta2,
          spec.eps,
          static_cast<float>(1 - std::pow(static_cast<double>(spec.beta1), static_cast<double>(step))),
          static_cast<float>(1 - std::pow(static_cast<double>(spec.beta2), static_cast<double>(step)))};
}

}  // namespace tilt::kernels
