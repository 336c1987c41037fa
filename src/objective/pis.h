// The path integral sampler's objective (Zhang & Chen; Sendera et al.'s PIS baseline, research/rtb.md
// §1.2): the reverse KL of the sampler's path measure to the target's, by reparameterisation,
//   loss = mean_b (sum_i log p_F - sum_i log p_B - log R(x_T))_b / D,
// back-propagated through the sampled states themselves, so it needs `source: differentiable` and a
// differentiable log R (every built-in target; a TorchScript one if its code is). Sampler tasks.
#pragma once

#include "core/config_section.h"
#include "objective/objective.h"

namespace tilt {

class PathIntegralSampler final : public Objective {
 public:
  explicit PathIntegralSampler(const ObjectiveContext& context) : Objective(context) {}
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) override;
};

std::unique_ptr<Objective> make_pis(const YAML::Node& options, const ObjectiveContext& context);

}  // namespace tilt
