#include "dxmi/dxmi.h"

#include <torch/torch.h>

#include <cmath>

#include "io/hdf5_file.h"
#include "train/checkpoint.h"

namespace tilt::dxmi {
namespace {

// The energy network's time input: it is time-independent, read at the sample's time t = 1.
constexpr float kEnergyTime = 1.0f;

}  // namespace

Dxmi::Dxmi(const DxmiOptions& options, int dim, int steps, const ArchitectureConfig& network,
           TimeSpacing spacing)
    : options_(options),
      sampler_(dim, steps, network, spacing),
      energy_(make_critic(network, dim)),
      value_(make_critic(network, dim)),
      velocity_scale_(sampler_.schedule().beta) {
  for (int k = 0; k < steps; ++k)
    time_inputs_.push_back(
        torch::full({1}, static_cast<float>(k) / static_cast<float>(steps), torch::kFloat32));
  time_inputs_.push_back(torch::full({1}, kEnergyTime, torch::kFloat32));
  if (!options_.shared_value)
    energy_adam_ =
        std::make_unique<Adam>(std::vector<Adam::Group>{{energy_parameters(), options_.energy_lr}});
  value_adam_ = std::make_unique<Adam>(std::vector<Adam::Group>{{value_parameters(), options_.value_lr}});
  std::vector<Adam::Group> sampler_groups{{sampler_.network_parameters(), options_.sampler_lr}};
  if (steps > 1) sampler_groups.push_back({{sampler_.log_sigma()}, options_.sigma_lr});
  sampler_adam_ = std::make_unique<Adam>(sampler_groups);
}

std::vector<NamedTensor> Dxmi::energy_parameters() const { return prefixed("energy", energy_->parameters()); }
std::vector<NamedTensor> Dxmi::value_parameters() const { return prefixed("value", value_->parameters()); }

at::Tensor Dxmi::energy(const at::Tensor& x) const {
  const StateTimeNetwork& network = options_.shared_value ? *value_ : *energy_;
  return network.forward(x, time_inputs_.back()).squeeze(1);
}

at::Tensor Dxmi::value(const at::Tensor& x, int k) const {
  if (k == sampler_.steps()) return energy(x);
  return value_->forward(x, time_inputs_[k]).squeeze(1);
}

StepGuidance Dxmi::value_guidance(double scale) const {
  if (scale == 0) return {};
  return [this, scale](const at::Tensor& next, int k) {
    torch::AutoGradMode with_gradients(true);
    const at::Tensor x = next.detach().requires_grad_(true);
    const at::Tensor gradient = torch::autograd::grad({value(x, k + 1).sum()}, {x})[0];
    return (next - scale * sampler_.sigma(k).item<double>() * gradient).detach();
  };
}

at::Tensor Dxmi::rollout(const CounterRng& rng, uint32_t draw, const BatchShard& shard,
                         double guidance_scale) const {
  return sampler_.rollout(rng, draw, shard, value_guidance(guidance_scale));
}

at::Tensor Dxmi::running_cost(const at::Tensor& x, const at::Tensor& x_next, int k) const {
  return (x_next - x).square().mean(1) / (2 * velocity_scale_[k]);
}

at::Tensor Dxmi::td_target(const at::Tensor& x, const at::Tensor& x_next, int k) const {
  torch::NoGradGuard no_grad;
  at::Tensor target = value(x_next, k + 1);
  if (options_.costs_in_value)
    target = target + options_.tau_velocity * running_cost(x, x_next, k) -
             options_.tau_entropy * sampler_.sigma(k).log();
  return target;
}

void Dxmi::update_velocity_scale(const std::vector<double>& square_sums, double count) {
  for (size_t k = 0; k < velocity_scale_.size(); ++k)
    velocity_scale_[k] =
        options_.avr_decay * velocity_scale_[k] + (1 - options_.avr_decay) * square_sums[k] / count;
}

at::Tensor Dxmi::policy_loss(const at::Tensor& states, const CounterRng& rng, uint32_t iteration,
                             const BatchShard& shard, int64_t global_batch) const {
  const int steps = sampler_.steps(), dim = sampler_.dim();
  at::Tensor total = torch::zeros({}, torch::kFloat32);
  for (int k = 0; k < steps; ++k) {
    const at::Tensor x = states[k];
    const at::Tensor eps = rng.normal(RngStream::kDxmiPolicy, iteration, k, shard.begin, shard.count, dim);
    const at::Tensor next = sampler_.mean(x, k) + sampler_.sigma(k) * eps;
    at::Tensor per_row = value(next, k + 1);
    if (k < steps - options_.skip_sampler_tau)
      per_row = per_row + options_.tau_velocity * running_cost(x, next, k) -
                options_.tau_entropy * sampler_.sigma(k).log();
    total = total + per_row.sum();
  }
  return total / static_cast<double>(steps * global_batch);
}

void Dxmi::step(Adam& adam, const std::vector<NamedTensor>& parameters, const at::Tensor& loss,
                Communicator& comm, double clip) {
  adam.zero_grad();
  loss.backward();
  const std::vector<at::Tensor> list = tensors_of(parameters);
  sync_.all_reduce(list, comm);
  if (clip > 0) {
    torch::NoGradGuard no_grad;
    double square = 0;
    for (const auto& p : list)
      if (p.grad().defined()) square += p.grad().square().sum().item<double>();
    const double norm = std::sqrt(square);
    if (norm > clip)
      for (const auto& p : list)
        if (p.grad().defined()) p.mutable_grad().mul_(clip / norm);
  }
  adam.step();
}

Metrics Dxmi::iteration(const at::Tensor& data, const CounterRng& rng, uint32_t iteration,
                        const BatchShard& shard, int64_t global_batch, Communicator& comm) {
  const int steps = sampler_.steps();
  const at::Tensor states = rollout(rng, iteration, shard, options_.guidance_scale);
  const double scale = 1.0 / static_cast<double>(global_batch);

  // AVR and the energies' sums travel in one all-reduce: [T square sums, E(data), E(x_T)].
  std::vector<double> sums(steps + 2);
  for (int k = 0; k < steps; ++k) sums[k] = (states[k + 1] - states[k]).square().sum().item<double>();
  at::Tensor energy_data = energy(data), energy_sample = energy(states[steps]);
  sums[steps] = energy_data.sum().item<double>();
  sums[steps + 1] = energy_sample.sum().item<double>();
  comm.all_reduce_sum(sums.data(), sums.size());
  update_velocity_scale(sums, static_cast<double>(global_batch) * sampler_.dim());

  const at::Tensor energy_loss =
      scale * (energy_data.sum() - energy_sample.sum() +
               options_.gamma * (energy_data.square().sum() + energy_sample.square().sum()));
  double losses[3] = {energy_loss.item<double>(), 0, 0};
  if (options_.shared_value)
    step(*value_adam_, value_parameters(), energy_loss, comm);
  else
    step(*energy_adam_, energy_parameters(), energy_loss, comm);

  for (int k = steps - 1; k >= 0; --k) {
    const at::Tensor target = td_target(states[k], states[k + 1], k);
    const at::Tensor value_loss = scale * (value(states[k], k) - target).square().sum();
    losses[1] += value_loss.item<double>() / steps;
    step(*value_adam_, value_parameters(), value_loss, comm);
  }

  const at::Tensor loss = policy_loss(states, rng, iteration, shard, global_batch);
  losses[2] = loss.item<double>();
  std::vector<NamedTensor> sampler_parameters = sampler_.network_parameters();
  if (steps > 1) sampler_parameters.push_back(sampler_.log_sigma());
  step(*sampler_adam_, sampler_parameters, loss, comm, options_.sampler_grad_clip);
  comm.all_reduce_sum(losses, 3);

  return {{"energy_loss", losses[0]},
          {"energy_data", sums[steps] * scale},
          {"energy_sample", sums[steps + 1] * scale},
          {"value_loss", losses[1]},
          {"policy_loss", losses[2]},
          {"sigma_first", sampler_.sigma(0).item<double>()},
          {"velocity_scale_first", velocity_scale_.front()},
          {"velocity_scale_last", velocity_scale_.back()}};
}

std::vector<std::string> Dxmi::metric_names() {
  return {"energy_loss", "energy_data", "energy_sample",        "value_loss",
          "policy_loss", "sigma_first", "velocity_scale_first", "velocity_scale_last"};
}

double Dxmi::flops_per_iteration(int64_t global_batch) const {
  const double eps = sampler_.noise_predictor().flops_per_sample(), value = value_->flops_per_sample();
  const double transitions = static_cast<double>(sampler_.steps()) * global_batch;
  const double guidance = options_.guidance_scale == 0 ? 0 : 3 * value;  // V fwd + bwd per transition
  return transitions * (4 * eps + 7 * value + guidance) + 6.0 * global_batch * value;
}

std::vector<NamedTensor> Dxmi::parameters() const {
  std::vector<NamedTensor> out = sampler_.network_parameters();
  out.push_back(sampler_.log_sigma());
  for (const auto& p : value_parameters()) out.push_back(p);
  if (!options_.shared_value)
    for (const auto& p : energy_parameters()) out.push_back(p);
  return out;
}

void Dxmi::save(io::H5File& file) const {
  write_parameters(file, parameters());
  file.write("/dxmi/velocity_scale", torch::tensor(velocity_scale_, torch::kFloat64));
  if (energy_adam_) energy_adam_->save(file, "/optimizer/energy");
  value_adam_->save(file, "/optimizer/value");
  sampler_adam_->save(file, "/optimizer/sampler");
}

void Dxmi::load(const io::H5File& file) {
  read_parameters(file, parameters());
  const at::Tensor scale = file.read("/dxmi/velocity_scale").to(torch::kFloat64).contiguous();
  velocity_scale_.assign(scale.data_ptr<double>(), scale.data_ptr<double>() + scale.numel());
  if (energy_adam_) energy_adam_->load(file, "/optimizer/energy");
  value_adam_->load(file, "/optimizer/value");
  sampler_adam_->load(file, "/optimizer/sampler");
}

}  // namespace tilt::dxmi
