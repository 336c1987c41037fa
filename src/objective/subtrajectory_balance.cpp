#include "objective/subtrajectory_balance.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {

SubTbOptions SubTbOptions::read(ConfigSection& section) {
  SubTbOptions o = read_flow(section);
  o.lambda = section.get("lambda", o.lambda);
  require_positive(o.lambda, section.key_path("lambda"));
  return o;
}

SubTbOptions SubTbOptions::read_flow(ConfigSection& section) {
  SubTbOptions o;
  o.flow_lr = section.get("flow_lr", o.flow_lr);
  require_positive(o.flow_lr, section.key_path("flow_lr"));
  o.forward_looking = section.get("forward_looking", o.forward_looking);
  o.floor.read(section);
  return o;
}

void SubTbOptions::write(YAML::Node& out) const {
  out["lambda"] = yaml_number(lambda);
  write_flow(out);
}

void SubTbOptions::write_flow(YAML::Node& out) const {
  out["flow_lr"] = yaml_number(flow_lr);
  out["forward_looking"] = forward_looking;
  floor.write(out);
}

SubtrajectoryBalance::SubtrajectoryBalance(const ObjectiveContext& context, const SubTbOptions& options)
    : Objective(context),
      options_(options),
      flow_(static_cast<int>(context.target.dim()), context.network, 1) {}

std::vector<ParameterGroup> SubtrajectoryBalance::parameter_groups() const {
  return {{prefixed("flow", named_parameters(*flow_)), options_.flow_lr}};
}

at::Tensor SubtrajectoryBalance::log_flow(const Trajectory& batch) const {
  const int steps = batch.steps();
  const at::Tensor x = batch.states.narrow(0, 0, steps), t = batch.times.narrow(0, 0, steps);
  at::Tensor log_f = flow_->forward(x, t).squeeze(-1);  // [T, B]
  if (!options_.forward_looking) return log_f;
  at::Tensor interpolation;  // (1 - t) log q_t + t log R: data, not a function of the parameters
  {
    torch::NoGradGuard no_grad;
    at::Tensor log_r;
    if (batch.step_log_reward.defined()) {
      log_r = batch.step_log_reward.narrow(0, 0, steps);
    } else {
      const int64_t rows = batch.batch(), dim = batch.states.size(-1);
      log_r = target_.log_reward(x.reshape({steps * rows, dim})).view({steps, rows});
    }
    const at::Tensor tt = t.unsqueeze(1);
    interpolation = (1 - tt) * process_.reference_log_marginal(x, 0) + tt * log_r;
  }
  return log_f + interpolation;
}

LossStats SubtrajectoryBalance::accumulate_gradients(const Trajectory& batch, int64_t global_batch,
                                                     Communicator&) {
  const int steps = batch.steps();
  const at::Tensor terms = step_terms(batch, 0, steps);  // [T, B]
  const at::Tensor cumulative = torch::cat({torch::zeros_like(terms.narrow(0, 0, 1)), terms.cumsum(0)});
  const at::Tensor flows = torch::cat({log_flow(batch), options_.floor.apply(batch.log_reward).unsqueeze(0)});
  // delta_mn = A_m - A_n with A_i = log F_i - sum_{k<i} step_term_k.
  const at::Tensor a = flows - cumulative;                   // [T + 1, B]
  const at::Tensor delta = a.unsqueeze(1) - a.unsqueeze(0);  // [m, n, B]
  // w_mn = lambda^{n-m} for m < n, normalised in log space (lambda^100 overflows nothing there).
  const at::Tensor index = torch::arange(steps + 1, torch::kFloat64);
  const at::Tensor length = index.unsqueeze(0) - index.unsqueeze(1);  // n - m
  const at::Tensor kept =
      options_.max_length > 0 ? (length > 0) & (length <= options_.max_length) : (length > 0);
  const at::Tensor log_w = torch::where(kept, length * std::log(options_.lambda),
                                        torch::full_like(length, -std::numeric_limits<double>::infinity()));
  const at::Tensor w = (log_w - torch::logsumexp(log_w.flatten(), 0)).exp().to(torch::kFloat32).unsqueeze(-1);
  const at::Tensor per_trajectory = 0.5 * (w * delta.square()).sum(at::IntArrayRef{0, 1});  // [B]
  (per_trajectory.sum() / static_cast<double>(global_batch)).backward();

  const at::Tensor residual = (a[0] - a[steps]).detach();  // the whole trajectory's: TB's residual
  log_z_ = flows[0].detach().mean().item<double>();
  return residual_stats(per_trajectory.detach().sum().item<double>(), residual);
}

std::unique_ptr<Objective> make_subtb(const YAML::Node& options, const ObjectiveContext& context) {
  return std::make_unique<SubtrajectoryBalance>(context, read_options<SubTbOptions>(options, "objective"));
}

}  // namespace tilt
