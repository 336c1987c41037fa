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

at::Tensor PinnedBrownian::forward_step(const at::Tensor& x, const at::Tensor& drift, int,
                                        const at::Tensor& noise, double exploration_std) const {
  const double scale = std::sqrt(dt_ * sigma2_ + exploration_std * exploration_std);
  return x + dt_ * drift + scale * noise;
}

at::Tensor PinnedBrownian::backward_step(const at::Tensor& x_next, int step, const at::Tensor& noise) const {
  const double ratio = static_cast<double>(step) / (step + 1);
  return ratio * x_next + std::sqrt(ratio * dt_ * sigma2_) * noise;
}

at::Tensor PinnedBrownian::forward_log_prob(const at::Tensor& x, const at::Tensor& x_next,
                                            const at::Tensor& drift, int) const {
  const double variance = dt_ * sigma2_;
  const int64_t dim = x.size(-1);
  const at::Tensor residual = x_next - x - dt_ * drift;
  return residual.square().sum(-1) * (-0.5 / variance) - 0.5 * dim * (kLog2Pi + std::log(variance));
}

at::Tensor PinnedBrownian::backward_log_prob(const at::Tensor& x, const at::Tensor& x_next,
                                             int first_step) const {
  const int64_t count = x.size(0), dim = x.size(-1);
  // Step i (x_i <- x_{i+1}) has mean i/(i+1) x_{i+1} and variance i/(i+1) dt sigma2.
  const at::Tensor i = torch::arange(first_step, first_step + count, torch::kFloat64);
  const at::Tensor ratio = (i / (i + 1)).to(torch::kFloat32);
  const at::Tensor safe_variance = (ratio * static_cast<float>(dt_ * sigma2_)).clamp_min(1e-30f);
  const at::Tensor residual = x - ratio.view({count, 1, 1}) * x_next;
  at::Tensor log_prob = residual.square().sum(-1) * (-0.5 / safe_variance.view({count, 1})) -
                        0.5 * dim * (kLog2Pi + safe_variance.log().view({count, 1}));
  return torch::where((i == 0).view({count, 1}).to(torch::kBool), torch::zeros_like(log_prob), log_prob);
}

at::Tensor PinnedBrownian::log_ratio(const at::Tensor& x, const at::Tensor& x_next,
                                     const at::Tensor& reference_drift, const at::Tensor& drift_difference,
                                     int) const {
  const at::Tensor residual = x_next - x - dt_ * reference_drift;
  return ((drift_difference * residual).sum(-1) - 0.5 * dt_ * drift_difference.square().sum(-1)) / sigma2_;
}

at::Tensor PinnedBrownian::reference_log_marginal(const at::Tensor& x, int first_step) const {
  const int64_t count = x.size(0), dim = x.size(-1);
  const at::Tensor variance =
      (torch::arange(first_step, first_step + count, torch::kFloat64).clamp_min(1) * (dt_ * sigma2_)).view({count, 1});
  return (-0.5 * (x.to(torch::kFloat64).square().sum(-1) / variance + dim * (kLog2Pi + variance.log())))
      .to(torch::kFloat32);
}

}  // namespace tilt
