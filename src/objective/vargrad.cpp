#include "objective/vargrad.h"

#include <torch/torch.h>

namespace tilt {

VarGradOptions VarGradOptions::read(ConfigSection& section) {
  VarGradOptions options;
  if (section.has("log_reward_floor")) options.log_reward_floor = section.require<double>("log_reward_floor");
  section.skip("log_reward_floor");
  return options;
}

void VarGradOptions::write(YAML::Node& out) const {
  if (log_reward_floor) out["log_reward_floor"] = yaml_number(*log_reward_floor);
}

VarGrad::VarGrad(const ObjectiveContext& context, const VarGradOptions& options)
    : Objective(context), options_(options) {}

LossStats VarGrad::accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) {
  const at::Tensor log_reward = options_.log_reward_floor
                                    ? batch.log_reward.clamp_min(static_cast<float>(*options_.log_reward_floor))
                                    : batch.log_reward;
  const at::Tensor path = score_path(batch);
  // Sum and count of log R - path over all ranks, in double.
  double totals[2] = {(log_reward - path.detach()).to(torch::kFloat64).sum().item<double>(),
                      static_cast<double>(batch.batch())};
  comm.all_reduce_sum(totals, 2);
  log_z_ = totals[0] / totals[1];
  return backward_squared_residual(batch, torch::tensor(static_cast<float>(log_z_)), -log_reward, global_batch, path);
}

std::unique_ptr<Objective> make_vargrad(const YAML::Node& options, const ObjectiveContext& context) {
  return std::make_unique<VarGrad>(context, read_options<VarGradOptions>(options, "objective"));
}

}  // namespace tilt
