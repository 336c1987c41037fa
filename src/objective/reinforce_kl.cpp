#include "objective/reinforce_kl.h"

#include <torch/torch.h>

namespace tilt {

ReinforceKlOptions ReinforceKlOptions::read(ConfigSection& section) {
  ReinforceKlOptions o;
  o.kl_weight = section.get("kl_weight", o.kl_weight);
  if (!(o.kl_weight >= 0)) config_fail(section.key_path("kl_weight"), "must be >= 0");
  return o;
}

void ReinforceKlOptions::write(YAML::Node& out) const { out["kl_weight"] = yaml_number(kl_weight); }

LossStats ReinforceKl::accumulate_gradients(const Trajectory& batch, int64_t global_batch,
                                            Communicator& comm) {
  const at::Tensor reward = batch.log_reward.to(torch::kFloat64).exp();
  double totals[2] = {reward.sum().item<double>(), static_cast<double>(batch.batch())};
  comm.all_reduce_sum(totals, 2);
  const at::Tensor advantage = (reward - totals[0] / totals[1]).to(torch::kFloat32);
  const at::Tensor path = step_terms(batch, 0, batch.steps()).sum(0);
  const at::Tensor per_trajectory = -advantage * path + options_.kl_weight * path.square();
  (per_trajectory.sum() / static_cast<double>(global_batch)).backward();
  // The log-ratio to the prior, as the residual columns report it.
  return residual_stats(per_trajectory.detach().sum().item<double>(), path);
}

std::unique_ptr<Objective> make_reinforce_kl(const YAML::Node& options, const ObjectiveContext& context) {
  return std::make_unique<ReinforceKl>(context, read_options<ReinforceKlOptions>(options, "objective"));
}

}  // namespace tilt
