#include "target/funnel.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {
namespace {
constexpr double kLog2Pi = 1.8378770664093453;
}

FunnelOptions FunnelOptions::read(ConfigSection& section) {
  FunnelOptions options;
  options.dim = section.get("dim", options.dim);
  require_at_least(options.dim, 2, section.key_path("dim"));
  options.variance = section.get("variance", options.variance);
  require_positive(options.variance, section.key_path("variance"));
  return options;
}

void FunnelOptions::write(YAML::Node& out) const {
  out["dim"] = dim;
  out["variance"] = yaml_number(variance);
}

at::Tensor Funnel::log_density(const at::Tensor& x) const {
  const at::Tensor y = x.to(torch::kFloat64);
  const at::Tensor x0 = y.select(1, 0), rest = y.narrow(1, 1, options_.dim - 1);
  const double s2 = options_.variance, others = options_.dim - 1;
  // log N(x0; 0, s2) + sum_i log N(x_i; 0, e^{x0}).
  return -0.5 * (x0.square() / s2 + std::log(s2) + kLog2Pi) -
         0.5 * (rest.square().sum(1) * torch::exp(-x0) + others * (x0 + kLog2Pi));
}

at::Tensor Funnel::log_reward(const at::Tensor& x) const { return log_density(x).to(torch::kFloat32); }

at::Tensor Funnel::grad_log_reward(const at::Tensor& x) const {
  const at::Tensor y = x.to(torch::kFloat64);
  const at::Tensor x0 = y.select(1, 0), rest = y.narrow(1, 1, options_.dim - 1);
  const at::Tensor inverse_variance = torch::exp(-x0).unsqueeze(1);
  const at::Tensor d0 = -x0 / options_.variance - 0.5 * (options_.dim - 1) +
                        0.5 * rest.square().sum(1) * inverse_variance.squeeze(1);
  return torch::cat({d0.unsqueeze(1), -rest * inverse_variance}, 1).to(torch::kFloat32);
}

at::Tensor Funnel::sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const {
  const at::Tensor z =
      rng.normal(RngStream::kTargetSample, draw, 0, row_begin, rows, options_.dim).to(torch::kFloat64);
  const at::Tensor x0 = z.select(1, 0) * std::sqrt(options_.variance);
  const at::Tensor rest = z.narrow(1, 1, options_.dim - 1) * torch::exp(0.5 * x0).unsqueeze(1);
  return torch::cat({x0.unsqueeze(1), rest}, 1).to(torch::kFloat32);
}

int funnel_dim(const YAML::Node& resolved) { return resolved["dim"].as<int>(); }

std::unique_ptr<Target> make_funnel(const YAML::Node& resolved) {
  return std::make_unique<Funnel>(read_options<FunnelOptions>(resolved, "target"));
}

}  // namespace tilt
