#include "objective/pis.h"

#include <torch/torch.h>

#include "core/error.h"

namespace tilt {

LossStats PathIntegralSampler::accumulate_gradients(const Trajectory& batch, int64_t global_batch,
                                                    Communicator&) {
  if (!batch.states.requires_grad())
    throw Error("objective pis back-propagates through the chain: it needs `source: differentiable`");
  const int steps = batch.steps();
  const double dim = static_cast<double>(batch.states.size(-1));
  const at::Tensor log_reward = target_.log_reward(batch.states[steps]);  // with the graph through x_T
  const at::Tensor divergence = step_terms(batch, 0, steps).sum(0) - log_reward;  // [B]
  (divergence.sum() / (dim * static_cast<double>(global_batch))).backward();
  const at::Tensor per_trajectory = divergence.detach() / dim;
  // Residuals as the other objectives report them: path - log R (log Z = 0 here).
  return residual_stats(per_trajectory.sum().item<double>(), divergence);
}

std::unique_ptr<Objective> make_pis(const YAML::Node& options, const ObjectiveContext& context) {
  read_options<NoOptions>(options, "objective");
  return std::make_unique<PathIntegralSampler>(context);
}

}  // namespace tilt
