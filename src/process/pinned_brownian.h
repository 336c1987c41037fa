// The pinned Brownian reference process of the diffusion samplers (research/rtb.md §1.1): start at
// x_0 = 0, T Euler-Maruyama steps of size dt = 1/T with diffusion rate sigma2,
//   forward kernel  p_F(x_{i+1} | x_i) = N(x_i + dt u(x_i, t_i), dt sigma2 I),
//   backward kernel p_B(x_i | x_{i+1}) = N(i/(i+1) x_{i+1}, i/(i+1) dt sigma2 I)  (Brownian bridge to 0;
//   a point mass for i = 0).
// Tensors are time-major blocks: x [K, B, D] for the K steps first_step .. first_step + K - 1.
#pragma once

#include <ATen/core/Tensor.h>

namespace tilt {

class PinnedBrownian {
 public:
  PinnedBrownian(int steps, double sigma2);

  int steps() const { return steps_; }
  double dt() const { return dt_; }
  double sigma2() const { return sigma2_; }
  // t_i = i dt for steps [first_step, first_step + count): float32 [count].
  at::Tensor times(int first_step, int count) const;

  // log p_F summed over dimensions: [K, B].
  at::Tensor forward_log_prob(const at::Tensor& x, const at::Tensor& x_next, const at::Tensor& drift) const;
  // log p_B(x_i | x_{i+1}) summed over dimensions, 0 for step 0: [K, B].
  at::Tensor backward_log_prob(const at::Tensor& x, const at::Tensor& x_next, int first_step) const;
  // log p_F(u_ref + c) - log p_F(u_ref) for the same step, from the reference residual
  // e = x_next - x - dt u_ref: c.e / sigma2 - dt |c|^2 / (2 sigma2). Written this way because the
  // two log-densities reach ~1e3 near t = 1 and cancel catastrophically in float32. [K, B].
  at::Tensor log_ratio(const at::Tensor& reference_residual, const at::Tensor& drift_difference) const;
  // One backward (bridge) step: x_i given x_{i+1} and standard normal noise.
  at::Tensor backward_step(const at::Tensor& x_next, int step, const at::Tensor& noise) const;

 private:
  int steps_;
  double dt_;
  double sigma2_;
};

}  // namespace tilt
