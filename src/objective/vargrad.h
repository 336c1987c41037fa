// VarGrad, the log-variance loss (research/rtb.md §1.2): instead of a learned log Z, the batch
// estimate  log Z^ = mean_b (log R_b - path_b)  over the *global* batch, reduced over ranks before
// any residual is formed, so that N ranks compute exactly the loss of one:
//   loss = 1/2 mean_b (log Z^ + path_b - log R_b)^2   (the batch variance of log R - path).
// The residuals sum to zero, so the gradient through log Z^ vanishes and it enters as a constant
// (with loss_cutoff > 0 the kept residuals need not sum to zero: log Z^ is then held constant by
// choice, not by an exact gradient).
// "vargrad" for samplers (path = sum log p_F - log p_B); "relative_vargrad" for posteriors of a frozen
// prior (path = sum log p_post - log p_prior, RTB's stabiliser for conditional rewards, rtb.md §1.3).
#pragma once

#include <optional>

#include "core/config_section.h"
#include "objective/log_reward_floor.h"
#include "objective/objective.h"

namespace tilt {

struct VarGradOptions {
  LogRewardFloor floor;
  LossCutoff cutoff;
  static VarGradOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class VarGrad final : public Objective {
 public:
  VarGrad(const ObjectiveContext& context, const VarGradOptions& options);
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) override;
  // The last batch's estimate.
  std::optional<double> log_z() const override { return log_z_; }
  Metrics sample_metrics(const Trajectory& samples, const CounterRng& rng,
                         Communicator& comm) const override {
    return options_.floor.metrics(samples, target_, rng, comm);
  }

 private:
  VarGradOptions options_;
  double log_z_ = 0;
};

std::unique_ptr<Objective> make_vargrad(const YAML::Node& options, const ObjectiveContext& context);

}  // namespace tilt
