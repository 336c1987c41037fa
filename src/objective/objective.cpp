#include "objective/objective.h"

#include <torch/torch.h>

#include <algorithm>

namespace tilt {

Objective::Objective(const PinnedBrownian& process, int chunk_steps)
    : process_(process), chunk_steps_(chunk_steps > 0 ? chunk_steps : process.steps()) {}

at::Tensor Objective::path_without_grad(const Trajectory& batch) {
  torch::NoGradGuard no_grad;
  at::Tensor path = torch::zeros({batch.batch()}, torch::kFloat32);
  for (int first = 0; first < batch.steps(); first += chunk_steps_)
    path += step_terms(batch, first, std::min(chunk_steps_, batch.steps() - first)).sum(0);
  return path;
}

at::Tensor Objective::log_weight(const Trajectory& batch) {
  return batch.log_reward - path_without_grad(batch);
}

LossStats Objective::backward_squared_residual(const Trajectory& batch, at::Tensor& log_z,
                                               const at::Tensor& offset, int64_t global_batch) {
  const int steps = batch.steps();
  const double scale = 1.0 / static_cast<double>(global_batch);
  at::Tensor residual;
  if (chunk_steps_ >= steps) {
    residual = log_z + step_terms(batch, 0, steps).sum(0) + offset;
    (0.5 * scale * residual.square().sum()).backward();
    residual = residual.detach();
  } else {
    residual = log_z.detach() + path_without_grad(batch) + offset;
    for (int first = 0; first < steps; first += chunk_steps_) {
      const at::Tensor terms = step_terms(batch, first, std::min(chunk_steps_, steps - first)).sum(0);
      (scale * (terms * residual).sum()).backward();
    }
    (scale * residual.sum() * log_z).backward();
  }
  LossStats stats;
  stats.loss_sum = 0.5 * residual.square().sum().item<double>();
  stats.residual_sum = residual.sum().item<double>();
  stats.residual_square_sum = residual.square().sum().item<double>();
  stats.count = static_cast<double>(batch.batch());
  return stats;
}

}  // namespace tilt
