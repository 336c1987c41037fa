// The drift seam: (x, t) -> u for a policy or a prior, neural or analytic, trainable or frozen, and
// for a policy optionally a learned variance (StepKernel).
// Inputs are time-major blocks, x [K, B, D] at times t [K] (float32), so that rollout (K = 1) and
// scoring (K = many steps at once) share one code path and per-time work is done once per step.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "model/parameters.h"
#include "process/step_kernel.h"

namespace tilt {

namespace kernels {
class FourierMlpCpu;
struct MixtureView;
}  // namespace kernels

class Drift {
 public:
  virtual ~Drift() = default;
  virtual at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const = 0;
  // The drift with, for a policy that learns its variance, its log-variance factor (one network pass
  // for both); every trained policy is asked through here, frozen references through operator().
  virtual StepKernel kernel(const at::Tensor& x, const at::Tensor& t) const { return {(*this)(x, t)}; }
  // The same, where a fused rollout already evaluated this drift's network at (x, t) with the current
  // parameters (`rollout_output`, extras::kPolicyOutput, or undefined): its values are reused and
  // gradients still reach the parameters.
  virtual StepKernel kernel_reusing(const at::Tensor& x, const at::Tensor& t,
                                    const at::Tensor& /*rollout_output*/) const {
    return kernel(x, t);
  }
  // Trainable parameters by name (relative to the drift); empty for a frozen or analytic drift.
  virtual std::vector<NamedTensor> parameters() const { return {}; }
  // FLOPs of one evaluation for one sample at one time (for the benchmark's floor); 0 if unknown.
  virtual double flops_per_sample() const { return 0; }
  // The fused kernels (kernels/) that compute this whole drift, for the fused rollout: a network
  // (with its current weights) or an analytic mixture; null where the drift has none or the engine
  // is libtorch.
  virtual kernels::FourierMlpCpu* fused_network() const { return nullptr; }
  virtual const kernels::MixtureView* fused_mixture() const { return nullptr; }
};

}  // namespace tilt
