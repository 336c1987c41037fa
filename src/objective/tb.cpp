#include "objective/tb.h"

#include <torch/torch.h>

namespace tilt {

at::Tensor forward_backward_step_terms(const PinnedBrownian& process, FourierMlp& network,
                                       const Trajectory& batch, int first, int count) {
  const at::Tensor x = batch.states.narrow(0, first, count);
  const at::Tensor x_next = batch.states.narrow(0, first + 1, count);
  const at::Tensor drift = network->forward(x, process.times(first, count));
  return process.forward_log_prob(x, x_next, drift) - process.backward_log_prob(x, x_next, first);
}

TbObjective::TbObjective(const PinnedBrownian& process, FourierMlp policy, at::Tensor log_z, int chunk_steps)
    : Objective(process, chunk_steps), policy_(std::move(policy)), log_z_(std::move(log_z)) {}

LossStats TbObjective::accumulate_gradients(const Trajectory& batch, int64_t global_batch) {
  return backward_squared_residual(batch, log_z_, -batch.log_reward, global_batch);
}

}  // namespace tilt
