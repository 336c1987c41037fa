#include "objective/mle.h"

#include <torch/torch.h>

#include <algorithm>

#include "objective/tb.h"

namespace tilt {

at::Tensor MleObjective::step_terms(const Trajectory& batch, int first, int count) {
  return forward_backward_step_terms(process_, network_, batch, first, count);
}

LossStats MleObjective::accumulate_gradients(const Trajectory& batch, int64_t global_batch) {
  const double scale = 1.0 / static_cast<double>(global_batch);
  // The loss is linear in the step terms, so chunks backpropagate independently.
  at::Tensor negative_elbo = torch::zeros({batch.batch()}, torch::kFloat32);
  for (int first = 0; first < batch.steps(); first += chunk_steps_) {
    const at::Tensor terms = -step_terms(batch, first, std::min(chunk_steps_, batch.steps() - first)).sum(0);
    (scale * terms.sum()).backward();
    negative_elbo += terms.detach();
  }
  LossStats stats;
  stats.loss_sum = negative_elbo.sum().item<double>();
  stats.residual_sum = stats.loss_sum;
  stats.residual_square_sum = negative_elbo.square().sum().item<double>();
  stats.count = static_cast<double>(batch.batch());
  return stats;
}

}  // namespace tilt
