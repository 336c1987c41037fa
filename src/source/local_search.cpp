#include "source/local_search.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {

LocalSearchOptions LocalSearchOptions::read(ConfigSection& section) {
  LocalSearchOptions o;
  o.every = section.get("every", o.every);
  require_at_least(o.every, 1, section.key_path("every"));
  o.steps = section.get("steps", o.steps);
  require_at_least(o.steps, 1, section.key_path("steps"));
  o.burn_in = section.get("burn_in", o.burn_in);
  require_at_least(o.burn_in, 0, section.key_path("burn_in"));
  if (o.burn_in >= o.steps)
    config_fail(section.key_path("burn_in"), "must be < steps (nothing would be kept)");
  o.step_size = section.get("step_size", o.step_size);
  require_positive(o.step_size, section.key_path("step_size"));
  o.target_acceptance = section.get("target_acceptance", o.target_acceptance);
  require_in_range(o.target_acceptance, 0.01, 0.99, section.key_path("target_acceptance"));
  o.adapt = section.get("adapt", o.adapt);
  require_in_range(o.adapt, 0.0, 0.5, section.key_path("adapt"));
  o.capacity = section.get<int>("capacity", static_cast<int>(o.capacity));
  require_at_least(o.capacity, 1, section.key_path("capacity"));
  return o;
}

void LocalSearchOptions::write(YAML::Node& out) const {
  out["every"] = every;
  out["steps"] = steps;
  out["burn_in"] = burn_in;
  out["step_size"] = yaml_number(step_size);
  out["target_acceptance"] = yaml_number(target_acceptance);
  out["adapt"] = yaml_number(adapt);
  out["capacity"] = capacity;
}

LocalSearch::LocalSearch(const LocalSearchOptions& options, const Target& target)
    : options_(options), target_(target), step_size_(options.step_size) {}

LocalSearch::Result LocalSearch::run(const at::Tensor& start, const CounterRng& rng, uint32_t iteration,
                                     int64_t row_begin, Communicator& comm) {
  torch::NoGradGuard no_grad;
  const int64_t chains = start.size(0), dim = start.size(1);
  at::Tensor x = start.to(torch::kFloat64);
  at::Tensor log_pi = target_.log_unnormalised_density(x);
  at::Tensor grad = target_.grad_log_unnormalised_density(x).to(torch::kFloat64);
  const at::Tensor rows = torch::arange(row_begin, row_begin + chains, torch::kInt64);
  std::vector<at::Tensor> kept, kept_keys;
  double accepted_total = 0, proposed_total = 0;
  for (int step = 0; step < options_.steps; ++step) {
    const double eta = step_size_;
    const auto s = static_cast<uint32_t>(step);
    const at::Tensor noise =
        rng.normal(RngStream::kLocalSearch, iteration, 2 * s, row_begin, chains, dim).to(torch::kFloat64);
    const at::Tensor proposal = x + eta * grad + std::sqrt(2 * eta) * noise;
    const at::Tensor log_pi_proposal = target_.log_unnormalised_density(proposal);
    const at::Tensor grad_proposal = target_.grad_log_unnormalised_density(proposal).to(torch::kFloat64);
    const at::Tensor forward = -(proposal - x - eta * grad).square().sum(1) / (4 * eta);
    const at::Tensor backward = -(x - proposal - eta * grad_proposal).square().sum(1) / (4 * eta);
    const at::Tensor log_alpha = log_pi_proposal - log_pi + backward - forward;
    const at::Tensor u = rng.uniform(RngStream::kLocalSearch, iteration, 2 * s + 1, row_begin, chains, 1)
                             .to(torch::kFloat64)
                             .squeeze(1);
    // A non-finite proposal density is a rejection.
    const at::Tensor accept = (u.log() < log_alpha) & torch::isfinite(log_pi_proposal);
    const at::Tensor accept_column = accept.unsqueeze(1);
    x = torch::where(accept_column, proposal, x);
    log_pi = torch::where(accept, log_pi_proposal, log_pi);
    grad = torch::where(accept_column, grad_proposal, grad);
    if (step >= options_.burn_in && accept.any().item<bool>()) {
      kept.push_back(proposal.index({accept}).to(torch::kFloat32));
      kept_keys.push_back(
          torch::stack({torch::full_like(rows, step).index({accept}), rows.index({accept})}, 1));
    }
    double counts[2] = {accept.sum().item<double>(), static_cast<double>(chains)};
    comm.all_reduce_sum(counts, 2);
    accepted_total += counts[0], proposed_total += counts[1];
    const double acceptance = counts[0] / counts[1];
    step_size_ *= acceptance > options_.target_acceptance ? 1 + options_.adapt : 1 - options_.adapt;
  }
  Result result;
  result.states = kept.empty() ? torch::zeros({0, dim}, torch::kFloat32) : torch::cat(kept);
  result.step_and_row = kept_keys.empty() ? torch::zeros({0, 2}, torch::kInt64) : torch::cat(kept_keys);
  result.acceptance = accepted_total / proposed_total;
  return result;
}

}  // namespace tilt
