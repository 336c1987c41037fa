// The pinned Brownian reference process of the diffusion samplers (research/rtb.md §1.1): start at
// x_0 = 0, T Euler-Maruyama steps of size dt = 1/T with diffusion rate sigma2,
//   forward kernel  p_F(x_{i+1} | x_i) = N(x_i + dt u(x_i, t_i), dt sigma2 exp(v(x_i, t_i))),
//                   v = 0 unless the policy learns its variance,
//   backward kernel p_B(x_i | x_{i+1}) = N(i/(i+1) x_{i+1}, i/(i+1) dt sigma2 I)  (Brownian bridge to 0;
//   a point mass for i = 0); with a learned correction the shrink x_{i+1} / (i+1) and the variance are
//   multiplied by its factors.
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

  at::Tensor forward_step(const at::Tensor& x, const StepKernel& kernel, int step, const at::Tensor& noise,
                          double exploration_std) const override;
  at::Tensor backward_step(const at::Tensor& x_next, int step, const at::Tensor& noise,
                           const BackwardCorrection& correction) const override;
  at::Tensor forward_log_prob(const at::Tensor& x, const at::Tensor& x_next, const StepKernel& kernel,
                              int first_step) const override;
  // 0 for step 0 (the point mass at x_0 = 0), whatever the correction.
  at::Tensor backward_log_prob(const at::Tensor& x, const at::Tensor& x_next, int first_step,
                               const BackwardCorrection& correction) const override;
  // From the reference residual e = x_next - x - dt u_ref, the correction c and its log-variance v:
  //   c.e / sigma2 - dt |c|^2 / (2 sigma2)
  //   - sum_d [ (e - dt c)_d^2 expm1(-v_d) / (2 dt sigma2) + v_d / 2 ]   (the second line only if v is
  //   learned).
  at::Tensor log_ratio(const at::Tensor& x, const at::Tensor& x_next, const at::Tensor& reference_drift,
                       const StepKernel& correction, int first_step) const override;
  // N(x_i; 0, sigma2 max(1, i) dt I): the pinned Brownian motion's marginal at t_i.
  at::Tensor reference_log_marginal(const at::Tensor& x, int first_step) const override;
  double step_flops(int64_t dim) const override { return 4.0 * static_cast<double>(dim); }

 private:
  int steps_;
  double dt_;
  double sigma2_;
};

}  // namespace tilt
