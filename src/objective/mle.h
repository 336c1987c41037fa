// Maximum-likelihood training of a drift from data (research/rtb.md §1.2, "bwd_mle"): along
// backward trajectories from data points x_T, minimise -sum_i log p_F + sum_i log p_B, the negative
// trajectory ELBO of log p(x_T). This is how a neural prior is trained.
#pragma once

#include "core/config_section.h"
#include "objective/objective.h"

namespace tilt {

class MaximumLikelihood final : public Objective {
 public:
  explicit MaximumLikelihood(const ObjectiveContext& context) : Objective(context) {}
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) override;
};

std::unique_ptr<Objective> make_maximum_likelihood(const YAML::Node& options,
                                                   const ObjectiveContext& context);

}  // namespace tilt
