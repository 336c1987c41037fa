// Relative trajectory balance (research/rtb.md §1.3): fine-tunes "frozen prior + learned correction
// c" towards the posterior p(x) r(x)^beta / Z with a learned scalar log Z:
//   loss = 1/2 (log Z + sum_i [log p_post - log p_prior](step i) - beta max(log r, floor))^2.
// The per-step log-ratio uses the drift-difference form (PinnedBrownian::log_ratio).
#pragma once

#include <optional>

#include "model/fourier_mlp.h"
#include "objective/objective.h"

namespace tilt {

class RtbObjective final : public Objective {
 public:
  RtbObjective(const PinnedBrownian& process, FourierMlp correction, at::Tensor log_z, double beta,
               std::optional<double> log_reward_floor, int chunk_steps);
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch) override;

 protected:
  at::Tensor step_terms(const Trajectory& batch, int first, int count) override;

 private:
  FourierMlp correction_;
  at::Tensor log_z_;
  double beta_;
  std::optional<double> log_reward_floor_;
};

}  // namespace tilt
