// The process seam: the noising process and its discretisation on a time grid. It owns the forward
// step update, the forward and backward transition log-probabilities, the drift-difference
// log-ratio and the time grid, so that trajectory sources and objectives never write a kernel out.
// Tensors are time-major blocks: x [K, B, D] for the K steps first_step .. first_step + K - 1.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "core/config.h"
#include "process/step_kernel.h"

namespace tilt {

class Process {
 public:
  virtual ~Process() = default;

  virtual int steps() const = 0;
  // t_i for steps [first_step, first_step + count): float32 [count].
  virtual at::Tensor times(int first_step, int count) const = 0;
  // The whole grid t_0 .. t_T: float32 [T + 1].
  at::Tensor time_grid() const { return times(0, steps() + 1); }
  // x_0 of every trajectory: float32 [B, D].
  virtual at::Tensor initial_states(int64_t batch, int64_t dim) const = 0;

  // One forward step from x [B, D] at step i under the kernel (drift u [B, D], optional learned
  // log-variance) with standard normal noise; exploration_std widens the kernel (added in quadrature)
  // without changing its mean. Differentiable in x and the kernel (PIS backpropagates through the chain).
  virtual at::Tensor forward_step(const at::Tensor& x, const StepKernel& kernel, int step,
                                  const at::Tensor& noise, double exploration_std) const = 0;
  // One backward step: x_i given x_{i+1} [B, D] and standard normal noise, under the fixed backward
  // kernel or its learned correction at x_{i+1} ([B, D] tensors).
  virtual at::Tensor backward_step(const at::Tensor& x_next, int step, const at::Tensor& noise,
                                   const BackwardCorrection& correction) const = 0;

  // log p_F(x_{i+1} | x_i) under the kernel, summed over dimensions: [K, B].
  virtual at::Tensor forward_log_prob(const at::Tensor& x, const at::Tensor& x_next, const StepKernel& kernel,
                                      int first_step) const = 0;
  // log p_B(x_i | x_{i+1}) of the backward process (fixed, or with its learned correction at x_{i+1}),
  // summed over dimensions: [K, B].
  virtual at::Tensor backward_log_prob(const at::Tensor& x, const at::Tensor& x_next, int first_step,
                                       const BackwardCorrection& correction) const = 0;
  // log p_F(x_{i+1} | x_i) under (reference drift + correction.drift, correction's variance) minus
  // the same under (reference drift, the process's variance), written in a form that does not cancel
  // catastrophically (each log-density reaches ~1e3 near t = 1): [K, B].
  virtual at::Tensor log_ratio(const at::Tensor& x, const at::Tensor& x_next,
                               const at::Tensor& reference_drift, const StepKernel& correction,
                               int first_step) const = 0;

  // log-density of the zero-drift forward process's marginal at each step [first_step, first_step + K)
  // (x [K, B, D] -> [K, B]); at step 0, a point mass, the next step's is used. Forward-looking flows
  // interpolate between it and log R.
  virtual at::Tensor reference_log_marginal(const at::Tensor& x, int first_step) const = 0;

  // FLOPs per sample-step of forward_step beyond the drift (for the benchmark's floor).
  virtual double step_flops(int64_t dim) const = 0;
};

std::unique_ptr<Process> make_process(const ProcessConfig& config);

}  // namespace tilt
