#include "guidance/scale_scan.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "dist/gather.h"
#include "guidance/exact_mixture.h"
#include "guidance/samplers.h"

namespace tilt::guidance {
namespace {

// Sums over every rank's rows at each sampler step: finite rows, <u, x> and <u, x>^2 over them.
struct TrajectorySums {
  at::Tensor sums;  // float64 [3, steps + 1]
  void add(int step, const at::Tensor& projection) {
    const at::Tensor finite = torch::isfinite(projection);
    const at::Tensor p = torch::where(finite, projection, torch::zeros_like(projection));
    sums[0][step] += finite.sum();
    sums[1][step] += p.sum();
    sums[2][step] += p.square().sum();
  }
};

std::string scale_suffix(double w) {
  std::ostringstream out;
  out << "_w" << w;
  return out.str();
}

// The largest fall of `mean` below its running maximum.
double pullback(const at::Tensor& mean) {
  double best = -std::numeric_limits<double>::infinity(), fall = 0;
  for (int64_t k = 0; k < mean.size(0); ++k) {
    const double m = mean[k].item<double>();
    best = std::max(best, m);
    fall = std::max(fall, best - m);
  }
  return fall;
}

}  // namespace

ScanResult scan_guidance_scales(const ClassData& data, int label, const GuidedScore& score,
                                const SamplingConfig& sampling, const CounterRng& rng, Communicator& comm,
                                bool verbose) {
  const BatchShard shard = shard_batch(sampling.samples, comm.rank(), comm.size());
  const std::vector<double> direction = data.class_direction(label);
  const at::Tensor u = torch::tensor(direction, torch::kFloat64);
  const auto [support_low, support_high] = data.support_projection(direction, label);
  const bool bounded = data.bounded();
  const TimeGrid grid{sampling.t_max, sampling.t_min, sampling.steps};
  const int64_t scales = static_cast<int64_t>(sampling.scales.size()), dim = data.dim();
  const int64_t kept_here = std::clamp<int64_t>(sampling.kept_samples - shard.begin, 0, shard.count);
  const double sigma_end = std::sqrt(OuCoefficients::at(sampling.t_min).variance);
  const double edge = support_high - kFarEdge * (support_high - support_low);
  const double n = static_cast<double>(sampling.samples);

  ScanResult result;
  at::Tensor means = torch::empty({scales, sampling.steps + 1}, torch::kFloat64),
             stds = torch::empty_like(means);
  at::Tensor kept = torch::empty({scales, sampling.kept_samples, dim}, torch::kFloat32);
  std::vector<double> in_support_shares, far_edge_shares, above_zero_shares, beyond_sqrt_shares, pullbacks;
  std::vector<double> monotone, diverged_shares;
  bool qualifying = true;
  for (int64_t i = 0; i < scales; ++i) {
    const double w = sampling.scales[static_cast<size_t>(i)];
    const ScoreFunction guided = [&](const at::Tensor& x, double t) { return score(x, t, w); };
    TrajectorySums trajectory{torch::zeros({3, sampling.steps + 1}, torch::kFloat64)};
    const Observer observe = [&](int step, double, const at::Tensor& x) {
      trajectory.add(step, x.matmul(u));
    };
    const at::Tensor start =
        rng.normal(RngStream::kGuidance, 0, 0, shard.begin, shard.count, dim).to(torch::kFloat64);
    const at::Tensor x =
        sampling.sampler == SamplerKind::kProbabilityFlow
            ? probability_flow(start, guided, grid, observe)
            : reverse_sde(
                  start, guided, grid,
                  [&](int step) {
                    return rng.normal(RngStream::kGuidance, 0, 1 + step, shard.begin, shard.count, dim)
                        .to(torch::kFloat64);
                  },
                  observe);

    const at::Tensor projection = x.matmul(u);
    const at::Tensor finite = torch::isfinite(x).all(1);
    const at::Tensor inside = data.in_support_at_noise(x, label, sigma_end).logical_and(finite);
    at::Tensor counts =
        torch::stack({finite.logical_not().sum(), inside.sum(), inside.logical_and(projection >= edge).sum(),
                      (projection >= 0).logical_and(finite).sum(),
                      (projection >= std::sqrt(w)).logical_and(finite).sum()})
            .to(torch::kFloat64)
            .contiguous();
    comm.all_reduce_sum(counts.data_ptr<double>(), static_cast<size_t>(counts.numel()));
    comm.all_reduce_sum(trajectory.sums.data_ptr<double>(), static_cast<size_t>(trajectory.sums.numel()));
    const at::Tensor rows = trajectory.sums[0].clamp_min(1);
    means[i] = trajectory.sums[1] / rows;
    stds[i] = (trajectory.sums[2] / rows - means[i].square()).clamp_min(0).sqrt();
    const std::vector<float> gathered = gather_rows(x.narrow(0, 0, kept_here).to(torch::kFloat32), comm);
    if (comm.is_root())
      kept[i].copy_(torch::from_blob(const_cast<float*>(gathered.data()), {sampling.kept_samples, dim},
                                     torch::kFloat32));

    const double fall = pullback(means[i]);
    // A fall smaller than three standard errors of the mean is not resolved by these samples (the
    // reverse SDE's own noise moves the sample mean too, by a martingale of variance at most
    // 2 (t_max - t_min) / n); one below max_pullback of the distance the mean rose is not an
    // overshoot the eye would see.
    const double injected =
        sampling.sampler == SamplerKind::kReverseSde ? 2 * (sampling.t_max - sampling.t_min) : 0.0;
    const double resolved = 3 * std::sqrt((stds[i].max().square().item<double>() + injected) / n);
    const double rise = (means[i].max() - means[i][0]).item<double>();
    const bool is_monotone = fall <= std::max(resolved, sampling.max_pullback * rise);
    const double in_support = counts[1].item<double>() / n;
    diverged_shares.push_back(counts[0].item<double>() / n);
    in_support_shares.push_back(in_support);
    far_edge_shares.push_back(counts[2].item<double>() / n);
    above_zero_shares.push_back(counts[3].item<double>() / n);
    beyond_sqrt_shares.push_back(counts[4].item<double>() / n);
    pullbacks.push_back(fall);
    monotone.push_back(is_monotone ? 1.0 : 0.0);
    qualifying = qualifying && is_monotone && in_support >= sampling.min_in_support;
    if (qualifying) result.prescribed_scale = w;

    const std::string suffix = scale_suffix(w);
    auto& m = result.metrics;
    m.emplace_back("mean_projection" + suffix, means[i][sampling.steps].item<double>());
    m.emplace_back("std_projection" + suffix, stds[i][sampling.steps].item<double>());
    m.emplace_back("pullback" + suffix, fall);
    m.emplace_back("pullback_fraction" + suffix, rise > 0 ? fall / rise : 0.0);
    m.emplace_back("monotone" + suffix, monotone.back());
    m.emplace_back("diverged_fraction" + suffix, diverged_shares.back());
    if (bounded) {
      m.emplace_back("in_support_fraction" + suffix, in_support);
      m.emplace_back("far_edge_fraction" + suffix, far_edge_shares.back());
    } else {
      m.emplace_back("above_zero_fraction" + suffix, above_zero_shares.back());
      m.emplace_back("beyond_sqrt_w_fraction" + suffix, beyond_sqrt_shares.back());
    }
    if (verbose)
      std::printf("tilt: w %-5g <u, x> %+.4f ± %.4f  pullback %.4f (%s)  %s %.4f  %s %.4f  diverged %.4f\n",
                  w, means[i][sampling.steps].item<double>(), stds[i][sampling.steps].item<double>(), fall,
                  is_monotone ? "monotone" : "not monotone", bounded ? "in support" : ">= 0",
                  bounded ? in_support : above_zero_shares.back(), bounded ? "far edge" : ">= sqrt(w)",
                  bounded ? far_edge_shares.back() : beyond_sqrt_shares.back(), diverged_shares.back());
  }
  result.metrics.emplace_back("prescribed_scale", result.prescribed_scale);

  // The class's own samples judged the same way: the row every scale is read against (for images
  // the only ground truth there is).
  const at::Tensor class_projection =
      data.sample(rng, RngStream::kGuidance, 1, shard.begin, shard.count, label).matmul(u);
  at::Tensor class_sums = torch::stack({class_projection.sum(), class_projection.square().sum(),
                                        (class_projection >= edge).sum().to(torch::kFloat64)})
                              .contiguous();
  comm.all_reduce_sum(class_sums.data_ptr<double>(), static_cast<size_t>(class_sums.numel()));
  const double class_mean = class_sums[0].item<double>() / n;
  const double class_std =
      std::sqrt(std::max(0.0, class_sums[1].item<double>() / n - class_mean * class_mean));
  result.metrics.emplace_back("class_mean_projection", class_mean);
  result.metrics.emplace_back("class_std_projection", class_std);
  if (bounded) result.metrics.emplace_back("class_far_edge_fraction", class_sums[2].item<double>() / n);
  if (verbose)
    std::printf("tilt: the class's own samples: <u, x> %+.4f ± %.4f%s\n", class_mean, class_std,
                bounded ? (", far edge " + std::to_string(class_sums[2].item<double>() / n)).c_str() : "");
  const auto series = [](const std::vector<double>& values) {
    return torch::tensor(values, torch::kFloat64);
  };
  result.datasets = {{"/scales", series(sampling.scales)},
                     {"/time", series(grid.times())},
                     {"/class_direction", u},
                     {"/support_projection", series({support_low, support_high})},
                     {"/trajectory_mean", means},
                     {"/trajectory_std", stds},
                     {"/final_samples", kept},
                     {"/in_support_fraction", series(in_support_shares)},
                     {"/far_edge_fraction", series(far_edge_shares)},
                     {"/above_zero_fraction", series(above_zero_shares)},
                     {"/beyond_sqrt_w_fraction", series(beyond_sqrt_shares)},
                     {"/pullback", series(pullbacks)},
                     {"/monotone", series(monotone)},
                     {"/diverged_fraction", series(diverged_shares)},
                     {"/prescribed_scale", series({result.prescribed_scale})}};
  return result;
}

}  // namespace tilt::guidance
