#include "train/evaluate.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "dist/gather.h"
#include "source/rollout.h"

namespace tilt {
namespace {

constexpr int64_t kEnergySamples = 4000;
constexpr int64_t kSlicedDirections = 128;

double mean_pairwise_distance(const at::Tensor& a, const at::Tensor& b) {
  return torch::cdist(a, b).mean().item<double>();
}

}  // namespace

double Evaluation::metric(const std::string& name) const {
  for (const auto& [key, value] : metrics)
    if (key == name) return value;
  throw Error("evaluation has no metric '" + name + "'");
}

double sliced_wasserstein2(const at::Tensor& x, const at::Tensor& y, const at::Tensor& directions) {
  const at::Tensor unit = directions.to(torch::kFloat64) / directions.to(torch::kFloat64).norm(2, 1, true);
  const at::Tensor px = std::get<0>(torch::matmul(x.to(torch::kFloat64), unit.t()).sort(0));
  const at::Tensor py = std::get<0>(torch::matmul(y.to(torch::kFloat64), unit.t()).sort(0));
  return (px - py).square().mean().sqrt().item<double>();
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
  const GroundTruth* truth = job.target().truth();
  const int64_t modes = truth ? truth->mode_count() : 0;

  // Global sums: [sum w, sum exp(w - max)], mode counts, outside count.
  const at::Tensor log_weight = job.objective().log_weight(paths).to(torch::kFloat64);
  double max_log_weight = shard.count ? log_weight.max().item<double>() : -INFINITY;
  comm.all_reduce_max(&max_log_weight, 1);
  std::vector<double> sums(3 + modes, 0.0);
  sums[0] = log_weight.sum().item<double>();
  sums[1] = (log_weight - max_log_weight).exp().sum().item<double>();
  if (modes > 0) {
    const auto [mode, outside] = truth->assign_modes(terminal);
    const at::Tensor counts = torch::bincount(mode, {}, modes).to(torch::kFloat64);
    for (int64_t k = 0; k < modes; ++k) sums[2 + k] = counts[k].item<double>();
    sums[2 + modes] = outside.sum().item<double>();
  }
  comm.all_reduce_sum(sums.data(), sums.size());

  const double n = static_cast<double>(samples);
  Evaluation result;
  auto& m = result.metrics;
  m.emplace_back("samples", n);
  const double elbo = sums[0] / n, iw = max_log_weight + std::log(sums[1] / n);
  const std::optional<double> learned = job.objective().log_z();
  if (learned) m.emplace_back("log_z_learned", *learned);
  m.emplace_back("elbo", elbo);
  m.emplace_back("iw_log_z", iw);
  if (truth) {
    const double exact = truth->log_z();
    m.emplace_back("log_z_exact", exact);
    if (learned) m.emplace_back("log_z_error", *learned - exact);
    m.emplace_back("elbo_error", elbo - exact);
    m.emplace_back("iw_log_z_error", iw - exact);
  }
  if (modes > 0) {
    const at::Tensor occupancy =
        torch::tensor(std::vector<double>(sums.begin() + 2, sums.begin() + 2 + modes)) / n;
    m.emplace_back("mode_tv", 0.5 * (occupancy - truth->mode_weights()).abs().sum().item<double>());
    m.emplace_back("min_mode_fraction", occupancy.min().item<double>());
    m.emplace_back("outside_mass", sums[2 + modes] / n);
  }

  for (const auto& metric : job.objective().sample_metrics(paths, job.rng(), comm)) m.push_back(metric);

  // EUBO (sampler tasks): the mean log weight of exact samples' backward trajectories, an upper
  // bound of log Z as the ELBO is a lower one. (A posterior task's exact path measure runs through
  // the prior's own backward process, which has no closed form.)
  if (truth && job.config().task() == Task::kSampler) {
    const at::Tensor exact = truth->sample(job.rng(), kExactSampleDraws | draw, shard.begin, shard.count);
    Trajectory backward =
        rollout_backward(job.process(), exact, job.rng(), kExactSampleDraws | draw, shard, job.backward());
    backward.log_reward = job.target().log_reward(exact);
    double eubo = job.objective().log_weight(backward).to(torch::kFloat64).sum().item<double>();
    comm.all_reduce_sum(&eubo, 1);
    m.emplace_back("eubo", eubo / n);
    m.emplace_back("eubo_error", eubo / n - truth->log_z());
  }

  result.samples = gather_rows(terminal, comm);
  if (!truth) return result;
  double distances[6] = {0, 0, 0, 0, 0, 0};
  if (comm.is_root()) {
    const int64_t dim = truth->dim();
    // All pairwise distances cost O(N^2) time and memory: the first kEnergySamples samples suffice.
    const int64_t n_energy = std::min(samples, kEnergySamples);
    const at::Tensor sampled =
        torch::from_blob(result.samples.data(), {samples, dim}, torch::kFloat32).narrow(0, 0, n_energy);
    // Two independent exact sample sets: the second measures the distance that sampling noise alone gives.
    const at::Tensor exact = truth->sample(job.rng(), kExactSampleDraws | draw, 0, n_energy);
    const at::Tensor exact_again = truth->sample(job.rng(), kExactSampleDraws | draw, n_energy, n_energy);
    distances[0] = energy_distance(sampled, exact);
    distances[1] = energy_distance(exact_again, exact);
    const at::Tensor directions =
        job.rng().normal(RngStream::kEvaluation, draw, 0, 0, kSlicedDirections, dim);
    distances[2] = sliced_wasserstein2(sampled, exact, directions);
    distances[3] = sliced_wasserstein2(exact_again, exact, directions);
    if (modes > 0) {
      // The mode TV that an exact sample of the sampler's size shows: the metric's noise floor.
      const at::Tensor same_size = truth->sample(job.rng(), kExactSampleDraws | draw, 2 * n_energy, samples);
      const at::Tensor counts =
          torch::bincount(truth->assign_modes(same_size).first, {}, modes).to(torch::kFloat64);
      distances[4] =
          0.5 * (counts / static_cast<double>(samples) - truth->mode_weights()).abs().sum().item<double>();
    }
  }
  comm.broadcast(distances, sizeof(distances), 0);
  m.emplace_back("energy_distance", distances[0]);
  m.emplace_back("energy_distance_exact_vs_exact", distances[1]);
  m.emplace_back("sliced_w2", distances[2]);
  m.emplace_back("sliced_w2_exact_vs_exact", distances[3]);
  if (modes > 0) m.emplace_back("mode_tv_exact", distances[4]);
  return result;
}

}  // namespace tilt
