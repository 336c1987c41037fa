#include "objective/mle.h"

#include <torch/torch.h>

#include <algorithm>

namespace tilt {

LossStats MaximumLikelihood::accumulate_gradients(const Trajectory& batch, int64_t global_batch,
                                                  Communicator&) {
  const double scale = 1.0 / static_cast<double>(global_batch);
  // The loss is linear in the step terms, so chunks backpropagate independently.
  at::Tensor negative_elbo = torch::zeros({batch.batch()}, torch::kFloat32);
  for (int first = 0; first < batch.steps(); first += chunk()) {
    const at::Tensor terms = -step_terms(batch, first, std::min(chunk(), batch.steps() - first)).sum(0);
    (scale * terms.sum()).backward();
    negative_elbo += terms.detach();
  }
  return residual_stats(negative_elbo.sum().item<double>(), negative_elbo);
}

std::unique_ptr<Objective> make_maximum_likelihood(const YAML::Node& options,
                                                   const ObjectiveContext& context) {
  read_options<NoOptions>(options, "objective");
  return std::make_unique<MaximumLikelihood>(context);
}

}  // namespace tilt
