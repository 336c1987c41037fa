#include "objective/rtb.h"

#include <torch/torch.h>

namespace tilt {

RtbObjective::RtbObjective(const PinnedBrownian& process, FourierMlp correction, at::Tensor log_z,
                           double beta, std::optional<double> log_reward_floor, int chunk_steps)
    : Objective(process, chunk_steps),
      correction_(std::move(correction)),
      log_z_(std::move(log_z)),
      beta_(beta),
      log_reward_floor_(log_reward_floor) {}

at::Tensor RtbObjective::step_terms(const Trajectory& batch, int first, int count) {
  const at::Tensor x = batch.states.narrow(0, first, count);
  const at::Tensor x_next = batch.states.narrow(0, first + 1, count);
  const at::Tensor reference_residual =
      x_next - x - process_.dt() * batch.reference_drift.narrow(0, first, count);
  return process_.log_ratio(reference_residual, correction_->forward(x, process_.times(first, count)));
}

LossStats RtbObjective::accumulate_gradients(const Trajectory& batch, int64_t global_batch) {
  // A floor keeps trajectories that land where log r ~ -40 from swamping the ~1 nat differences
  // that set the weights of the modes that matter (research/rtb.md; see configs/rtb/gmm25_to_gmm9.yaml).
  const at::Tensor log_reward = log_reward_floor_
                                    ? batch.log_reward.clamp_min(static_cast<float>(*log_reward_floor_))
                                    : batch.log_reward;
  return backward_squared_residual(batch, log_z_, -beta_ * log_reward, global_batch);
}

}  // namespace tilt
