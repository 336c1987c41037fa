// Trajectory balance for samplers of an unnormalised density R (research/rtb.md §1.2):
//   loss = 1/2 (log Z + sum_i log p_F - sum_i log p_B - log R(x_1))^2,
// with the fixed Brownian-bridge p_B and a learned scalar log Z.
#pragma once

#include "model/fourier_mlp.h"
#include "objective/objective.h"

namespace tilt {

// log p_F(network drift) - log p_B for steps [first, first + count): the step term shared by TB and
// maximum likelihood.
at::Tensor forward_backward_step_terms(const PinnedBrownian& process, FourierMlp& network,
                                       const Trajectory& batch, int first, int count);

class TbObjective final : public Objective {
 public:
  TbObjective(const PinnedBrownian& process, FourierMlp policy, at::Tensor log_z, int chunk_steps);
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch) override;

 protected:
  at::Tensor step_terms(const Trajectory& batch, int first, int count) override {
    return forward_backward_step_terms(process_, policy_, batch, first, count);
  }

 private:
  FourierMlp policy_;
  at::Tensor log_z_;
};

}  // namespace tilt
