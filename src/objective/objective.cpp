#include "objective/objective.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "model/learned_backward.h"

namespace tilt {

Objective::Objective(const ObjectiveContext& context)
    : process_(context.process),
      target_(context.target),
      policy_(context.policy),
      reference_(context.reference),
      backward_(context.backward),
      chunk_steps_(context.chunk_steps) {}

int Objective::chunk() const { return chunk_steps_ > 0 ? chunk_steps_ : process_.steps(); }

Metrics Objective::metrics(const std::vector<double>& sums, double count) const {
  const double mean = sums[0] / count;
  return {{"residual_mean", mean}, {"residual_std", std::sqrt(std::max(0.0, sums[1] / count - mean * mean))}};
}

at::Tensor Objective::step_terms(const Trajectory& batch, int first, int count) const {
  const at::Tensor x = batch.states.narrow(0, first, count);
  const at::Tensor x_next = batch.states.narrow(0, first + 1, count);
  const at::Tensor t = batch.times.narrow(0, first, count);
  const at::Tensor rollout_output = batch.has(extras::kPolicyOutput)
                                        ? batch.extra(extras::kPolicyOutput).narrow(0, first, count)
                                        : at::Tensor();
  const StepKernel kernel = policy_.kernel_reusing(x, t, rollout_output);
  if (!reference_) {
    BackwardCorrection correction;
    if (backward_) correction = (*backward_)(x_next, batch.times.narrow(0, first + 1, count));
    return process_.forward_log_prob(x, x_next, kernel, first) -
           process_.backward_log_prob(x, x_next, first, correction);
  }
  // A backward or replayed trajectory carries no reference drift: computed here, without gradients.
  at::Tensor reference_drift;
  if (batch.has(extras::kReferenceDrift)) {
    reference_drift = batch.extra(extras::kReferenceDrift).narrow(0, first, count);
  } else {
    torch::NoGradGuard no_grad;
    reference_drift = (*reference_)(x, t);
  }
  return process_.log_ratio(x, x_next, reference_drift, kernel, first);
}

at::Tensor Objective::path_without_grad(const Trajectory& batch) const {
  torch::NoGradGuard no_grad;
  at::Tensor path = torch::zeros({batch.batch()}, torch::kFloat32);
  for (int first = 0; first < batch.steps(); first += chunk())
    path += step_terms(batch, first, std::min(chunk(), batch.steps() - first)).sum(0);
  return path;
}

at::Tensor Objective::log_weight(const Trajectory& batch) const {
  return batch.log_reward - path_without_grad(batch);
}

at::Tensor Objective::score_path(const Trajectory& batch) const {
  return chunk() >= batch.steps() ? step_terms(batch, 0, batch.steps()).sum(0) : path_without_grad(batch);
}

void LossCutoff::read(ConfigSection& section) {
  value = section.get("loss_cutoff", value);
  if (value < 0) config_fail(section.key_path("loss_cutoff"), "must be >= 0, got " + std::to_string(value));
}

void LossCutoff::write(YAML::Node& out) const { out["loss_cutoff"] = yaml_number(value); }

LossStats Objective::backward_squared_residual(const Trajectory& batch, const at::Tensor& log_z,
                                               const at::Tensor& offset, int64_t global_batch,
                                               at::Tensor path, LossCutoff cutoff) const {
  const int steps = batch.steps();
  const double scale = 1.0 / static_cast<double>(global_batch);
  if (!path.defined()) path = score_path(batch);
  const auto clipped_loss = [&](const at::Tensor& residual) {
    return 0.5 * (residual.square() - cutoff.value).clamp_min(0.0);
  };
  at::Tensor residual;
  if (chunk() >= steps) {
    residual = log_z + path + offset;
    (scale * clipped_loss(residual).sum()).backward();
    residual = residual.detach();
  } else {
    residual = log_z.detach() + path + offset;
    // d/dtheta 1/2 relu(delta^2 - c) = delta [delta^2 > c] d delta/dtheta.
    const at::Tensor active_residual =
        residual * (residual.square() > cutoff.value).to(residual.scalar_type());
    for (int first = 0; first < steps; first += chunk()) {
      const at::Tensor terms = step_terms(batch, first, std::min(chunk(), steps - first)).sum(0);
      (scale * (terms * active_residual).sum()).backward();
    }
    if (log_z.requires_grad()) (scale * active_residual.sum() * log_z).backward();
  }
  return residual_stats(clipped_loss(residual).sum().item<double>(), residual);
}

LossStats residual_stats(double loss_sum, const at::Tensor& residual) {
  const at::Tensor r = residual.detach();
  LossStats stats;
  stats.loss_sum = loss_sum;
  stats.sums = {r.sum().item<double>(), r.square().sum().item<double>()};
  stats.count = static_cast<double>(r.size(0));
  return stats;
}

}  // namespace tilt
