#include "objective/vargrad.h"

#include <torch/torch.h>

namespace tilt {

VarGradOptions VarGradOptions::read(ConfigSection& section) {
  VarGradOptions options;
  options.floor.read(section);
  options.cutoff.read(section);
  return options;
}

void VarGradOptions::write(YAML::Node& out) const {
  floor.write(out);
  cutoff.write(out);
}

VarGrad::VarGrad(const ObjectiveContext& context, const VarGradOptions& options)
    : Objective(context), options_(options) {}

LossStats VarGrad::accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) {
  const at::Tensor log_reward = options_.floor.apply(batch.log_reward);
  const at::Tensor path = score_path(batch);
  // Sum and count of log R - path over all ranks, in double.
  double totals[2] = {(log_reward - path.detach()).to(torch::kFloat64).sum().item<double>(),
                      static_cast<double>(batch.batch())};
  comm.all_reduce_sum(totals, 2);
  log_z_ = totals[0] / totals[1];
  return backward_squared_residual(batch, torch::tensor(static_cast<float>(log_z_)), -log_reward,
                                   global_batch, path, options_.cutoff);
}

std::unique_ptr<Objective> make_vargrad(const YAML::Node& options, const ObjectiveContext& context) {
  return std::make_unique<VarGrad>(context, read_options<VarGradOptions>(options, "objective"));
}

}  // namespace tilt
