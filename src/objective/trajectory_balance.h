// Trajectory balance with a learned scalar log Z (research/rtb.md §1.2-1.3):
//   loss = 1/2 (log Z + path(tau) - max(log R(x_T), floor))^2   (or 1/2 relu(delta^2 - loss_cutoff)),
// "tb" for samplers of an unnormalised density (path = sum log p_F - log p_B) and "rtb", relative
// trajectory balance, for posteriors of a frozen prior (path = sum log p_post - log p_prior; R = r^beta).
#pragma once

#include <optional>

#include "core/config_section.h"
#include "objective/log_reward_floor.h"
#include "objective/objective.h"

namespace tilt {

struct TrajectoryBalanceOptions {
  double log_z_lr = 1e-1;  // Adam learning rate of log Z
  LogRewardFloor floor;
  LossCutoff cutoff;
  static TrajectoryBalanceOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class TrajectoryBalance final : public Objective {
 public:
  TrajectoryBalance(const ObjectiveContext& context, const TrajectoryBalanceOptions& options);
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) override;
  std::vector<ParameterGroup> parameter_groups() const override;
  std::optional<double> log_z() const override { return log_z_.item<double>(); }
  Metrics sample_metrics(const Trajectory& samples, const CounterRng& rng,
                         Communicator& comm) const override {
    return options_.floor.metrics(samples, target_, rng, comm);
  }

 private:
  TrajectoryBalanceOptions options_;
  at::Tensor log_z_;
};

std::unique_ptr<Objective> make_trajectory_balance(const YAML::Node& options,
                                                   const ObjectiveContext& context);

}  // namespace tilt
