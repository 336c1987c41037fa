#include "process/pinned_brownian.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt {
namespace {
constexpr double kLog2Pi = 1.8378770664093453;
}

std::unique_ptr<Process> make_process(const ProcessConfig& config) {
  return std::make_unique<PinnedBrownian>(config.steps, config.sigma2);
}

PinnedBrownian::PinnedBrownian(int steps, double sigma2) : steps_(steps), dt_(1.0 / steps), sigma2_(sigma2) {
  if (steps < 1 || !(sigma2 > 0)) throw Error("PinnedBrownian: need steps >= 1 and sigma2 > 0");
}

at::Tensor PinnedBrownian::times(int first_step, int count) const {
  return torch::arange(first_step, first_step + count, torch::kFloat32) * static_cast<float>(dt_);
}

at::Tensor PinnedBrownian::initial_states(int64_t batch, int64_t dim) const {
  return torch::zeros({batch, dim}, torch::kFloat32);
}

at::Tensor PinnedBrownian::forward_step(const at::Tensor& x, const StepKernel& kernel, int,
                                        const at::Tensor& noise, double exploration_std) const {
  const double exploration_variance = exploration_std * exploration_std;
  if (!kernel.learned_variance())
    return x + dt_ * kernel.drift + std::sqrt(dt_ * sigma2_ + exploration_variance) * noise;
  const at::Tensor scale = ((dt_ * sigma2_) * kernel.log_variance.exp() + exploration_variance).sqrt();
  return x + dt_ * kernel.drift + scale * noise;
}

at::Tensor PinnedBrownian::backward_step(const at::Tensor& x_next, int step, const at::Tensor& noise,
                                         const BackwardCorrection& correction) const {
  const double ratio = static_cast<double>(step) / (step + 1);
  if (!correction.learned()) return ratio * x_next + std::sqrt(ratio * dt_ * sigma2_) * noise;
  const at::Tensor mean = x_next - (1.0 / (step + 1)) * x_next * correction.shrink_factor;
  return mean + (ratio * dt_ * sigma2_ * correction.variance_factor).sqrt() * noise;
}

at::Tensor PinnedBrownian::forward_log_prob(const at::Tensor& x, const at::Tensor& x_next,
                                            const StepKernel& kernel, int) const {
  const double variance = dt_ * sigma2_;
  const int64_t dim = x.size(-1);
  const at::Tensor residual = x_next - x - dt_ * kernel.drift;
  const double normaliser = -0.5 * dim * (kLog2Pi + std::log(variance));
  if (!kernel.learned_variance()) return residual.square().sum(-1) * (-0.5 / variance) + normaliser;
  const at::Tensor& v = kernel.log_variance;
  return (residual.square() * (-v).exp() * (-0.5 / variance) - 0.5 * v).sum(-1) + normaliser;
}

at::Tensor PinnedBrownian::backward_log_prob(const at::Tensor& x, const at::Tensor& x_next, int first_step,
                                             const BackwardCorrection& correction) const {
  const int64_t count = x.size(0), dim = x.size(-1);
  // Step i (x_i <- x_{i+1}) has mean i/(i+1) x_{i+1} and variance i/(i+1) dt sigma2.
  const at::Tensor i = torch::arange(first_step, first_step + count, torch::kFloat64);
  const at::Tensor ratio = (i / (i + 1)).to(torch::kFloat32);
  const at::Tensor safe_variance = (ratio * static_cast<float>(dt_ * sigma2_)).clamp_min(1e-30f);
  at::Tensor log_prob;
  if (!correction.learned()) {
    const at::Tensor residual = x - ratio.view({count, 1, 1}) * x_next;
    log_prob = residual.square().sum(-1) * (-0.5 / safe_variance.view({count, 1})) -
               0.5 * dim * (kLog2Pi + safe_variance.log().view({count, 1}));
  } else {
    // Step 0's point mass ignores the correction: factors of 1 there keep its terms exactly 0 (and
    // their gradients finite) before the mask below.
    const at::Tensor first = (i == 0).view({count, 1, 1}).to(torch::kBool);
    const at::Tensor one = torch::ones({}, x.options());
    const at::Tensor shrink_factor = torch::where(first, one, correction.shrink_factor);
    const at::Tensor variance_factor = torch::where(first, one, correction.variance_factor);
    const at::Tensor shrink = (1.0 / (i + 1)).to(torch::kFloat32).view({count, 1, 1});
    const at::Tensor residual = x - (x_next - shrink * x_next * shrink_factor);
    const at::Tensor variance = safe_variance.view({count, 1, 1}) * variance_factor;
    log_prob = (-0.5 * (residual.square() / variance + variance.log() + kLog2Pi)).sum(-1);
  }
  return torch::where((i == 0).view({count, 1}).to(torch::kBool), torch::zeros_like(log_prob), log_prob);
}

at::Tensor PinnedBrownian::log_ratio(const at::Tensor& x, const at::Tensor& x_next,
                                     const at::Tensor& reference_drift, const StepKernel& correction,
                                     int) const {
  const at::Tensor residual = x_next - x - dt_ * reference_drift;
  const at::Tensor& c = correction.drift;
  const at::Tensor same_variance = ((c * residual).sum(-1) - 0.5 * dt_ * c.square().sum(-1)) / sigma2_;
  if (!correction.learned_variance()) return same_variance;
  const at::Tensor& v = correction.log_variance;
  const at::Tensor policy_residual = residual - dt_ * c;
  return same_variance -
         (policy_residual.square() * torch::expm1(-v) * (0.5 / (dt_ * sigma2_)) + 0.5 * v).sum(-1);
}

at::Tensor PinnedBrownian::reference_log_marginal(const at::Tensor& x, int first_step) const {
  const int64_t count = x.size(0), dim = x.size(-1);
  const at::Tensor variance =
      (torch::arange(first_step, first_step + count, torch::kFloat64).clamp_min(1) * (dt_ * sigma2_))
          .view({count, 1});
  return (-0.5 * (x.to(torch::kFloat64).square().sum(-1) / variance + dim * (kLog2Pi + variance.log())))
      .to(torch::kFloat32);
}

}  // namespace tilt
