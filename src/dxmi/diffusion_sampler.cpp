#include "dxmi/diffusion_sampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tilt::dxmi {

const std::vector<double>& StridedSchedule::alpha_bars() {
  static const std::vector<double> table = [] {
    std::vector<double> out(kTrainingSteps);
    double product = 1;
    for (int m = 0; m < kTrainingSteps; ++m) {
      product *= 1 - (1e-4 + (0.02 - 1e-4) * m / (kTrainingSteps - 1));
      out[m] = product;
    }
    return out;
  }();
  return table;
}

std::optional<TimeSpacing> parse_time_spacing(const std::string& name) {
  if (name == "uniform") return TimeSpacing::kUniform;
  if (name == "quadratic") return TimeSpacing::kQuadratic;
  return std::nullopt;
}

std::string to_string(TimeSpacing spacing) {
  return spacing == TimeSpacing::kUniform ? "uniform" : "quadratic";
}

namespace {

// n_0 > ... > n_{T-1} >= 0, n_0 = N - 1.
std::vector<int> timesteps(int steps, TimeSpacing spacing) {
  constexpr int n = StridedSchedule::kTrainingSteps;
  std::vector<int> out(steps);
  int later = -1;  // the next step's timestep (-1: the clean sample)
  for (int k = steps - 1; k >= 0; --k) {
    const double left = static_cast<double>(steps - k) / steps;
    const int t = spacing == TimeSpacing::kUniform ? n * (steps - k) / steps - 1
                                                   : static_cast<int>(std::lround(n * left * left)) - 1;
    out[k] = std::max(t, later + 1);
    later = out[k];
  }
  return out;
}

}  // namespace

StridedSchedule StridedSchedule::make(int steps, TimeSpacing spacing) {
  if (steps < 1 || steps > kTrainingSteps) throw Error("dxmi: steps must be in 1..1000");
  StridedSchedule s;
  s.steps = steps;
  s.timestep = timesteps(steps, spacing);
  for (int k = 0; k < steps; ++k) {
    const int n = s.timestep[k];
    const int next = k + 1 < steps ? s.timestep[k + 1] : -1;  // -1: the clean sample
    const double ab = alpha_bars()[n], ab_next = next >= 0 ? alpha_bars()[next] : 1.0;
    const double beta = 1 - ab / ab_next;  // the stride's effective beta
    // Posterior q(x_next | x_n, x0) with x0 = (x_n - sqrt(1 - ab) eps) / sqrt(ab):
    // mean = sqrt(ab_next) beta / (1 - ab) x0 + sqrt(ab / ab_next) (1 - ab_next) / (1 - ab) x_n.
    const double x0_coefficient = std::sqrt(ab_next) * beta / (1 - ab);
    const double x_coefficient = std::sqrt(ab / ab_next) * (1 - ab_next) / (1 - ab);
    s.a.push_back(x0_coefficient / std::sqrt(ab) + x_coefficient);
    s.c.push_back(-x0_coefficient * std::sqrt(1 - ab) / std::sqrt(ab));
    s.sigma.push_back(k + 1 < steps ? std::sqrt((1 - ab_next) / (1 - ab) * beta) : kLastSigma);
    s.beta.push_back(beta);
    s.time.push_back(static_cast<double>(n) / kTrainingSteps);
  }
  return s;
}

DiffusionSampler::DiffusionSampler(int dim, int steps, const ArchitectureConfig& network, TimeSpacing spacing)
    : DiffusionSampler(dim, StridedSchedule::make(steps, spacing), make_noise_predictor(network, dim)) {}

DiffusionSampler DiffusionSampler::with_steps(int steps, TimeSpacing spacing) const {
  return DiffusionSampler(dim_, StridedSchedule::make(steps, spacing), eps_);
}

DiffusionSampler::DiffusionSampler(int dim, StridedSchedule schedule, std::shared_ptr<StateTimeNetwork> eps)
    : dim_(dim), schedule_(std::move(schedule)), eps_(std::move(eps)) {
  std::vector<double> initial;
  for (int k = 0; k + 1 < steps(); ++k) initial.push_back(std::log(schedule_.sigma[k]));
  log_sigma_ = torch::tensor(initial, torch::kFloat32).view({steps() - 1}).requires_grad_(true);
}

at::Tensor DiffusionSampler::mean(const at::Tensor& x, int k) const {
  const at::Tensor t = torch::full({1}, schedule_.time[k], torch::kFloat32);
  const at::Tensor eps = eps_->forward(x, t);
  return schedule_.a[k] * x + schedule_.c[k] * eps;
}

at::Tensor DiffusionSampler::sigma(int k) const {
  if (k + 1 == steps()) return torch::full({}, StridedSchedule::kLastSigma, torch::kFloat32);
  return log_sigma_[k].exp();
}

at::Tensor DiffusionSampler::rollout(const CounterRng& rng, uint32_t draw, const BatchShard& shard,
                                     const StepGuidance& guidance) const {
  torch::NoGradGuard no_grad;
  at::Tensor states = torch::empty({steps() + 1, shard.count, dim_}, torch::kFloat32);
  states[0].copy_(rng.normal(RngStream::kRolloutNoise, draw, 0, shard.begin, shard.count, dim_));
  for (int k = 0; k < steps(); ++k) {
    const at::Tensor z = rng.normal(RngStream::kRolloutNoise, draw, k + 1, shard.begin, shard.count, dim_);
    const at::Tensor next = mean(states[k], k) + sigma(k) * z;
    states[k + 1].copy_(guidance ? guidance(next, k) : next);
  }
  return states;
}

at::Tensor DiffusionSampler::denoising_loss(const at::Tensor& data, const CounterRng& rng, uint32_t draw,
                                            const BatchShard& shard, int64_t global_batch) const {
  const int64_t rows = data.size(0);
  const at::Tensor u = rng.uniform(RngStream::kDxmiPrior, draw, 0, shard.begin, rows, 1).squeeze(1);
  const at::Tensor n = (u * StridedSchedule::kTrainingSteps)
                           .floor()
                           .clamp_max(StridedSchedule::kTrainingSteps - 1)
                           .to(torch::kInt64);
  const at::Tensor ab = torch::tensor(StridedSchedule::alpha_bars(), torch::kFloat64)
                            .index_select(0, n)
                            .to(torch::kFloat32)
                            .unsqueeze(1);
  const at::Tensor eps = rng.normal(RngStream::kDxmiPrior, draw, 1, shard.begin, rows, dim_);
  const at::Tensor noised = ab.sqrt() * data + (1 - ab).sqrt() * eps;
  const at::Tensor times = n.to(torch::kFloat32) / StridedSchedule::kTrainingSteps;
  const at::Tensor predicted = eps_->forward(noised, times);
  return (predicted - eps).square().sum() / static_cast<double>(dim_ * global_batch);
}

std::vector<NamedTensor> DiffusionSampler::network_parameters() const {
  return prefixed("eps", eps_->parameters());
}

}  // namespace tilt::dxmi
