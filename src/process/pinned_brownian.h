// The pinned Brownian reference process of the diffusion samplers (research/rtb.md §1.1): start at
// x_0 = 0, T Euler-Maruyama steps of size dt = 1/T with diffusion rate sigma2,
//   forward kernel  p_F(x_{i+1} | x_i) = N(x_i + dt u(x_i, t_i), dt sigma2 I),
//   backward kernel p_B(x_i | x_{i+1}) = N(i/(i+1) x_{i+1}, i/(i+1) dt sigma2 I)  (Brownian bridge to 0;
//   a point mass for i = 0).
#pragma once

#include "process/process.h"

namespace tilt {

class PinnedBrownian final : public Process {
 public:
  PinnedBrownian(int steps, double sigma2);

  int steps() const override { return steps_; }
  double dt() const { return dt_; }
  double sigma2() const { return sigma2_; }
  at::Tensor times(int first_step, int count) const override;
  at::Tensor initial_states(int64_t batch, int64_t dim) const override;

  at::Tensor forward_step(const at::Tensor& x, const at::Tensor& drift, int step, const at::Tensor& noise,
                          double exploration_std) const override;
  at::Tensor backward_step(const at::Tensor& x_next, int step, const at::Tensor& noise) const override;
  at::Tensor forward_log_prob(const at::Tensor& x, const at::Tensor& x_next, const at::Tensor& drift,
                              int first_step) const override;
  // 0 for step 0 (the point mass at x_0 = 0).
  at::Tensor backward_log_prob(const at::Tensor& x, const at::Tensor& x_next, int first_step) const override;
  // From the reference residual e = x_next - x - dt u_ref and the difference c:
  //   c.e / sigma2 - dt |c|^2 / (2 sigma2).
  at::Tensor log_ratio(const at::Tensor& x, const at::Tensor& x_next, const at::Tensor& reference_drift,
                       const at::Tensor& drift_difference, int first_step) const override;
  // N(x_i; 0, sigma2 max(1, i) dt I): the pinned Brownian motion's marginal at t_i.
  at::Tensor reference_log_marginal(const at::Tensor& x, int first_step) const override;
  double step_flops(int64_t dim) const override { return 4.0 * static_cast<double>(dim); }

 private:
  int steps_;
  double dt_;
  double sigma2_;
};

}  // namespace tilt
