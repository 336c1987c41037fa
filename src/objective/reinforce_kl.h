// RL with a KL penalty, the RTB paper's baseline for posterior tasks (research/rtb.md §3, its code's
// form): REINFORCE on the trajectory's log-ratio to the prior with advantage R - mean R over the
// global batch (reduced over ranks), regularised by the squared log-ratio,
//   loss = mean_b [ -(R_b - mean R) path_b + kl_weight path_b^2 ],  path = sum_i log p_post - log p_prior,
// so its optimum is a reward-maximising posterior held near the prior, not p r / Z: RTB's comparison.
// Log Z is not estimated (evaluation reports the ELBO and importance-weighted estimates). All steps are
// scored in one pass (train.score_chunk_steps does not apply).
#pragma once

#include "core/config_section.h"
#include "objective/objective.h"

namespace tilt {

struct ReinforceKlOptions {
  double kl_weight = 0.1;
  static ReinforceKlOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class ReinforceKl final : public Objective {
 public:
  ReinforceKl(const ObjectiveContext& context, const ReinforceKlOptions& options)
      : Objective(context), options_(options) {}
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) override;

 private:
  ReinforceKlOptions options_;
};

std::unique_ptr<Objective> make_reinforce_kl(const YAML::Node& options, const ObjectiveContext& context);

}  // namespace tilt
