#include "target/manywell.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {
namespace {
constexpr double kLog2Pi = 1.8378770664093453;
// The well's density is below e^-150 outside [-4.5, 4.5]; 2^18 intervals put the trapezoid error
// of the normaliser far below float64's resolution of log Z's other terms.
constexpr double kGridEdge = 4.5;
constexpr int64_t kGridIntervals = 1 << 18;

at::Tensor well_log_density(const at::Tensor& a) { return -a.pow(4) + 6 * a.square() + 0.5 * a; }
}  // namespace

ManywellOptions ManywellOptions::read(ConfigSection& section) {
  ManywellOptions options;
  options.dim = section.get("dim", options.dim);
  require_at_least(options.dim, 2, section.key_path("dim"));
  if (options.dim % 2 != 0) config_fail(section.key_path("dim"), "must be even (pairs of coordinates)");
  return options;
}

void ManywellOptions::write(YAML::Node& out) const { out["dim"] = dim; }

Manywell::Manywell(const ManywellOptions& options) : options_(options) {
  grid_ = torch::linspace(-kGridEdge, kGridEdge, kGridIntervals + 1, torch::kFloat64);
  const double step = 2 * kGridEdge / kGridIntervals;
  const at::Tensor log_p = well_log_density(grid_);
  const double peak = log_p.max().item<double>();
  const at::Tensor p = (log_p - peak).exp();
  // Trapezoid rule: cumulative areas of the intervals.
  const at::Tensor areas = 0.5 * step * (p.narrow(0, 0, kGridIntervals) + p.narrow(0, 1, kGridIntervals));
  const at::Tensor cumulative = torch::cat({torch::zeros({1}, torch::kFloat64), areas.cumsum(0)});
  const double total = cumulative[-1].item<double>();
  cdf_ = cumulative / total;
  log_well_normaliser_ = peak + std::log(total);
  log_z_ = 0.5 * options_.dim * (log_well_normaliser_ + 0.5 * kLog2Pi);
}

at::Tensor Manywell::log_reward(const at::Tensor& x) const {
  const at::Tensor y = x.to(torch::kFloat64).view({x.size(0), options_.dim / 2, 2});
  const at::Tensor a = y.select(2, 0), b = y.select(2, 1);
  return (well_log_density(a) - 0.5 * b.square()).sum(1).to(torch::kFloat32);
}

at::Tensor Manywell::log_density(const at::Tensor& x) const {
  return log_reward(x).to(torch::kFloat64) - log_z_;
}

at::Tensor Manywell::grad_log_reward(const at::Tensor& x) const {
  const at::Tensor y = x.to(torch::kFloat64).view({x.size(0), options_.dim / 2, 2});
  const at::Tensor a = y.select(2, 0), b = y.select(2, 1);
  const at::Tensor da = -4 * a.pow(3) + 12 * a + 0.5;
  return torch::stack({da, -b}, 2).reshape({x.size(0), options_.dim}).to(torch::kFloat32);
}

at::Tensor Manywell::sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const {
  const int64_t wells = options_.dim / 2;
  // Inverse CDF, linear between grid points.
  const at::Tensor u =
      rng.uniform(RngStream::kTargetSample, draw, 0, row_begin, rows, wells).to(torch::kFloat64);
  const at::Tensor upper = torch::searchsorted(cdf_, u.reshape(-1)).clamp(1, kGridIntervals);
  const at::Tensor lower = upper - 1;
  const at::Tensor c0 = cdf_.index_select(0, lower), c1 = cdf_.index_select(0, upper);
  const at::Tensor fraction = ((u.reshape(-1) - c0) / (c1 - c0).clamp_min(1e-300)).clamp(0, 1);
  const at::Tensor a =
      (grid_.index_select(0, lower) + fraction * (2 * kGridEdge / kGridIntervals)).view({rows, wells});
  const at::Tensor b =
      rng.normal(RngStream::kTargetSample, draw, 1, row_begin, rows, wells).to(torch::kFloat64);
  return torch::stack({a, b}, 2).reshape({rows, options_.dim}).to(torch::kFloat32);
}

int manywell_dim(const YAML::Node& resolved) { return resolved["dim"].as<int>(); }

std::unique_ptr<Target> make_manywell(const YAML::Node& resolved) {
  return std::make_unique<Manywell>(read_options<ManywellOptions>(resolved, "target"));
}

}  // namespace tilt
