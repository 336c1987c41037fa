#include "dxmi/evaluate_2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "dist/gather.h"
#include "train/evaluate.h"

namespace tilt::dxmi {
namespace {

constexpr int64_t kSlicedDirections = 128;
constexpr int64_t kGridSide = 64;
constexpr double kGridEdge = 4.0;  // the box of both data sets: 8gaussians reaches +-3.2 (3 std)
constexpr double kSupportDrop = 5.0;

// Mean ranks (1-based) of v's entries, ties sharing their mean rank.
at::Tensor ranks(const at::Tensor& v) {
  const at::Tensor x = v.to(torch::kFloat64).contiguous();
  const int64_t n = x.numel();
  const at::Tensor order = x.argsort().contiguous();
  const double* values = x.data_ptr<double>();
  const int64_t* index = order.data_ptr<int64_t>();
  at::Tensor out = torch::empty({n}, torch::kFloat64);
  double* rank = out.data_ptr<double>();
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && values[index[j + 1]] == values[index[i]]) ++j;
    for (int64_t k = i; k <= j; ++k) rank[index[k]] = 0.5 * (i + j) + 1;
    i = j + 1;
  }
  return out;
}

}  // namespace

double spearman(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ra = ranks(a) - ranks(a).mean(), rb = ranks(b) - ranks(b).mean();
  return ((ra * rb).sum() / (ra.square().sum() * rb.square().sum()).sqrt()).item<double>();
}

Metrics evaluate_samples(const DiffusionSampler& sampler, const Density2d& density, const CounterRng& rng,
                         int64_t samples, uint32_t draw, Communicator& comm, at::Tensor* gathered_samples) {
  torch::NoGradGuard no_grad;
  const BatchShard shard = shard_batch(samples, comm.rank(), comm.size());
  const at::Tensor terminal = sampler.rollout(rng, draw, shard)[sampler.steps()];
  // Mode counts and the outside count are global sums; the distances need every sample on one rank.
  const int modes = density.modes();
  std::vector<double> counts(modes + 1, 0.0);
  const at::Tensor mode = density.mode_of(terminal);
  for (int k = 0; k < modes; ++k) counts[k] = (mode == k).sum().item<double>();
  counts[modes] = (mode < 0).sum().item<double>();
  comm.all_reduce_sum(counts.data(), counts.size());
  const std::vector<float> gathered = gather_rows(terminal, comm);
  double distances[4] = {0, 0, 0, 0};
  if (comm.is_root()) {
    const at::Tensor sampled =
        torch::from_blob(const_cast<float*>(gathered.data()), {samples, 2}, torch::kFloat32).clone();
    if (gathered_samples) *gathered_samples = sampled;
    const at::Tensor exact = density.sample(rng, kExactSampleDraws, 0, samples);
    const at::Tensor exact_again = density.sample(rng, kExactSampleDraws + 1, 0, samples);
    const at::Tensor directions =
        rng.normal(RngStream::kEvaluation, kExactSampleDraws, 0, 0, kSlicedDirections, 2);
    distances[0] = sliced_wasserstein2(sampled, exact, directions);
    distances[1] = sliced_wasserstein2(exact_again, exact, directions);
    const int64_t n = std::min<int64_t>(samples, 4000);
    distances[2] = energy_distance(sampled.narrow(0, 0, n), exact.narrow(0, 0, n));
    distances[3] = energy_distance(exact_again.narrow(0, 0, n), exact.narrow(0, 0, n));
  }
  comm.broadcast(distances, sizeof(distances), 0);
  double lowest = 1, highest = 0, worst = 0;
  for (int k = 0; k < modes; ++k) {
    const double fraction = counts[k] / static_cast<double>(samples);
    lowest = std::min(lowest, fraction);
    highest = std::max(highest, fraction);
    worst = std::max(worst, std::fabs(fraction * modes - 1));
  }
  return {{"sliced_w2", distances[0]},
          {"sliced_w2_exact_vs_exact", distances[1]},
          {"energy_distance", distances[2]},
          {"energy_distance_exact_vs_exact", distances[3]},
          {"mode_fraction_min", lowest},
          {"mode_fraction_max", highest},
          {"mode_fraction_worst_rel_dev", worst},
          {"outside_support", counts[modes] / static_cast<double>(samples)}};
}

Metrics evaluate_energy(const Dxmi& dxmi, const Density2d& density) {
  torch::NoGradGuard no_grad;
  const at::Tensor axis = torch::linspace(-kGridEdge, kGridEdge, kGridSide, torch::kFloat32);
  const std::vector<at::Tensor> mesh = torch::meshgrid({axis, axis}, "ij");
  const at::Tensor grid = torch::stack({mesh[0].reshape(-1), mesh[1].reshape(-1)}, 1);
  const at::Tensor log_density = density.log_density(grid);
  const at::Tensor score = -dxmi.energy(grid).to(torch::kFloat64);
  // The support: where the density is within e^kSupportDrop of its peak.
  const at::Tensor support = log_density >= log_density.max() - kSupportDrop;
  const at::Tensor on = score.masked_select(support), off = score.masked_select(support.logical_not());
  // Spearman needs the density to vary on the support (checkerboard's is flat: no value).
  const at::Tensor support_log_density = log_density.masked_select(support);
  const bool varies = (support_log_density.max() - support_log_density.min()).item<double>() > 0;
  return {{"spearman_neg_energy_log_density", spearman(score, log_density.clamp_min(-1e300))},
          {"spearman_on_support", varies ? spearman(on, support_log_density) : std::nan("")},
          {"auroc_support", auroc(on, off)}};
}

double auroc(const at::Tensor& positive, const at::Tensor& negative) {
  const int64_t p = positive.numel(), n = negative.numel();
  if (p == 0 || n == 0) return std::nan("");
  const at::Tensor rank = ranks(torch::cat({positive.to(torch::kFloat64), negative.to(torch::kFloat64)}));
  return (rank.narrow(0, 0, p).sum().item<double>() - 0.5 * p * (p + 1)) / (static_cast<double>(p) * n);
}

}  // namespace tilt::dxmi
