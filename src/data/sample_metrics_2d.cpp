#include "data/sample_metrics_2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "dist/gather.h"
#include "train/evaluate.h"

namespace tilt::data {
namespace {

constexpr int64_t kSlicedDirections = 128;

}  // namespace

Metrics sample_metrics_2d(const at::Tensor& terminal, const Density2d& density, const CounterRng& rng,
                          int64_t samples, Communicator& comm, at::Tensor* gathered_samples) {
  torch::NoGradGuard no_grad;
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

at::Tensor figure_grid_axis() { return torch::linspace(-4.5, 4.5, kFigureGridSide, torch::kFloat64); }

at::Tensor figure_grid_points() {
  const at::Tensor axis = figure_grid_axis();
  const std::vector<at::Tensor> mesh = torch::meshgrid({axis, axis}, "ij");
  return torch::stack({mesh[1].reshape(-1), mesh[0].reshape(-1)}, 1);
}

void write_samples_2d(io::H5File& file, const at::Tensor& samples, const Density2d& density) {
  file.write("/samples", samples);
  file.write("/exact/x", figure_grid_axis());
  file.write("/exact/y", figure_grid_axis());
  file.write(
      "/exact/log_density",
      density.log_density(figure_grid_points()).clamp_min(-1e4).reshape({kFigureGridSide, kFigureGridSide}));
}

}  // namespace tilt::data
