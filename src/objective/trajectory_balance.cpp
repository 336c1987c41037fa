#include "objective/trajectory_balance.h"

#include <torch/torch.h>

namespace tilt {

TrajectoryBalanceOptions TrajectoryBalanceOptions::read(ConfigSection& section) {
  TrajectoryBalanceOptions options;
  options.log_z_lr = section.get("log_z_lr", options.log_z_lr);
  require_positive(options.log_z_lr, section.key_path("log_z_lr"));
  options.floor.read(section);
  options.cutoff.read(section);
  return options;
}

void TrajectoryBalanceOptions::write(YAML::Node& out) const {
  out["log_z_lr"] = yaml_number(log_z_lr);
  floor.write(out);
  cutoff.write(out);
}

TrajectoryBalance::TrajectoryBalance(const ObjectiveContext& context, const TrajectoryBalanceOptions& options)
    : Objective(context), options_(options), log_z_(torch::zeros({}, torch::kFloat32).requires_grad_(true)) {}

std::vector<ParameterGroup> TrajectoryBalance::parameter_groups() const {
  return {{{{"log_z", log_z_}}, options_.log_z_lr}};
}

LossStats TrajectoryBalance::accumulate_gradients(const Trajectory& batch, int64_t global_batch,
                                                  Communicator&) {
  return backward_squared_residual(batch, log_z_, -options_.floor.apply(batch.log_reward), global_batch, {},
                                   options_.cutoff);
}

std::unique_ptr<Objective> make_trajectory_balance(const YAML::Node& options,
                                                   const ObjectiveContext& context) {
  return std::make_unique<TrajectoryBalance>(context,
                                             read_options<TrajectoryBalanceOptions>(options, "objective"));
}

}  // namespace tilt
