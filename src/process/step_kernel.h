// What a policy gives a Gaussian step of the process at a state: its drift u and, for a policy with
// a learned variance, the log of the factor that scales the process's own per-step variance
// (gfn-diffusion's `learned_variance`, research/rtb.md §1.1). An undefined log_variance is the
// process's own variance, and the step's log-probabilities then take their exact fixed-variance form.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

namespace tilt {

struct StepKernel {
  // Implicit from a drift alone: a kernel with the process's own variance.
  StepKernel(at::Tensor drift, at::Tensor log_variance = {})  // NOLINT(google-explicit-constructor)
      : drift(std::move(drift)), log_variance(std::move(log_variance)) {}
  at::Tensor drift;         // [K, B, D]
  at::Tensor log_variance;  // [K, B, D] or undefined
  bool learned_variance() const { return log_variance.defined(); }
  // Time row k of a time-major kernel ([K, B, D] -> [B, D]), e.g. a rollout's K = 1 block.
  StepKernel at_step(int64_t k) const {
    return {drift[k], learned_variance() ? log_variance[k] : at::Tensor()};
  }
};

// A learned correction of the backward kernel (gfn-diffusion's learn_pb, research/rtb.md errata):
// factors, per state and dimension, on the Brownian bridge's shrink towards x_0 and on its variance.
// Undefined tensors: the fixed bridge.
struct BackwardCorrection {
  at::Tensor shrink_factor;    // [K, B, D]: mean x_{i+1} - (dt / t_{i+1}) x_{i+1} shrink_factor
  at::Tensor variance_factor;  // [K, B, D]: variance (i / (i + 1)) dt sigma2 variance_factor
  bool learned() const { return shrink_factor.defined(); }
  // Time row k ([K, B, D] -> [B, D]).
  BackwardCorrection at_step(int64_t k) const {
    return learned() ? BackwardCorrection{shrink_factor[k], variance_factor[k]} : BackwardCorrection{};
  }
};

}  // namespace tilt
