// Maximum-likelihood training of a drift from data (research/rtb.md §1.2, "bwd_mle"): along
// Brownian-bridge trajectories from data points x_1, minimise -sum_i log p_F + sum_i log p_B, the
// negative trajectory ELBO of log p(x_1). This is how a neural prior is trained.
#pragma once

#include "model/fourier_mlp.h"
#include "objective/objective.h"

namespace tilt {

class MleObjective final : public Objective {
 public:
  MleObjective(const PinnedBrownian& process, FourierMlp network, int chunk_steps)
      : Objective(process, chunk_steps), network_(std::move(network)) {}
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch) override;

 protected:
  at::Tensor step_terms(const Trajectory& batch, int first, int count) override;

 private:
  FourierMlp network_;
};

}  // namespace tilt
