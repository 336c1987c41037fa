#include "train/evaluate.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "dist/gather.h"

namespace tilt {
namespace {

constexpr int64_t kEnergySamples = 4000;

// Squared Mahalanobis radius holding 99.9% of a D-dimensional Gaussian (Wilson-Hilferty).
double outside_radius2(int64_t dim) {
  const double d = static_cast<double>(dim), z = 3.090232306167813;
  return d * std::pow(1 - 2 / (9 * d) + z * std::sqrt(2 / (9 * d)), 3);
}

double mean_pairwise_distance(const at::Tensor& a, const at::Tensor& b) {
  return torch::cdist(a, b).mean().item<double>();
}

}  // namespace

double Evaluation::metric(const std::string& name) const {
  for (const auto& [key, value] : metrics)
    if (key == name) return value;
  throw Error("evaluation has no metric '" + name + "'");
}

double energy_distance(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor a = x.to(torch::kFloat64), b = y.to(torch::kFloat64);
  return 2 * mean_pairwise_distance(a, b) - mean_pairwise_distance(a, a) - mean_pairwise_distance(b, b);
}

Evaluation evaluate(Job& job, Communicator& comm, int64_t samples, uint32_t draw) {
  torch::NoGradGuard no_grad;
  const BatchShard shard = shard_batch(samples, comm.rank(), comm.size());
  const Trajectory paths = job.sample(draw, shard);
  const at::Tensor terminal = paths.states[paths.steps()];
  const GroundTruth& truth = job.target().truth;
  const int64_t modes = truth.distribution.components();

  // Global sums: [sum w, sum exp(w - max)], mode counts, outside count.
  const at::Tensor log_weight = job.objective().log_weight(paths).to(torch::kFloat64);
  double max_log_weight = shard.count ? log_weight.max().item<double>() : -INFINITY;
  comm.all_reduce_max(&max_log_weight, 1);
  std::vector<double> sums(3 + modes, 0.0);
  sums[0] = log_weight.sum().item<double>();
  sums[1] = (log_weight - max_log_weight).exp().sum().item<double>();
  const at::Tensor mode = truth.distribution.component_log_joint(terminal).argmax(1);
  const at::Tensor counts = torch::bincount(mode, {}, modes).to(torch::kFloat64);
  for (int64_t k = 0; k < modes; ++k) sums[2 + k] = counts[k].item<double>();
  const at::Tensor nearest2 = std::get<0>(truth.distribution.mahalanobis2(terminal).min(1));
  sums[2 + modes] = (nearest2 > outside_radius2(truth.distribution.dim())).sum().item<double>();
  comm.all_reduce_sum(sums.data(), sums.size());

  const double n = static_cast<double>(samples);
  const at::Tensor occupancy =
      torch::tensor(std::vector<double>(sums.begin() + 2, sums.begin() + 2 + modes)) / n;
  const at::Tensor weights = truth.distribution.log_weights().exp();

  Evaluation result;
  auto& m = result.metrics;
  m.emplace_back("samples", n);
  m.emplace_back("log_z_exact", truth.log_z);
  if (job.has_log_z()) {
    m.emplace_back("log_z_learned", job.log_z());
    m.emplace_back("log_z_error", job.log_z() - truth.log_z);
  }
  const double elbo = sums[0] / n, iw = max_log_weight + std::log(sums[1] / n);
  m.emplace_back("elbo", elbo);
  m.emplace_back("elbo_error", elbo - truth.log_z);
  m.emplace_back("iw_log_z", iw);
  m.emplace_back("iw_log_z_error", iw - truth.log_z);
  m.emplace_back("mode_tv", 0.5 * (occupancy - weights).abs().sum().item<double>());
  m.emplace_back("min_mode_fraction", occupancy.min().item<double>());
  m.emplace_back("outside_mass", sums[2 + modes] / n);

  result.samples = gather_rows(terminal, comm);
  double distances[2] = {0, 0};
  if (comm.is_root()) {
    const int64_t dim = truth.distribution.dim();
    // All pairwise distances cost O(N^2) time and memory: the first kEnergySamples samples suffice.
    const int64_t n_energy = std::min(samples, kEnergySamples);
    const at::Tensor sampled =
        torch::from_blob(result.samples.data(), {samples, dim}, torch::kFloat32).narrow(0, 0, n_energy);
    // Two independent exact sample sets: the second measures the distance that sampling noise alone gives.
    const at::Tensor exact = truth.distribution.sample(job.rng(), kExactSampleDraws | draw, 0, n_energy);
    const at::Tensor exact_again =
        truth.distribution.sample(job.rng(), kExactSampleDraws | draw, n_energy, n_energy);
    distances[0] = energy_distance(sampled, exact);
    distances[1] = energy_distance(exact_again, exact);
  }
  comm.broadcast(distances, sizeof(distances), 0);
  m.emplace_back("energy_distance", distances[0]);
  m.emplace_back("energy_distance_exact_vs_exact", distances[1]);
  return result;
}

}  // namespace tilt
