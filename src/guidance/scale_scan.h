// Sampling a conditional model at each guidance scale w and judging the samples against the data's
// ground truth (research/tn_mdm_guidance.md part (c)): the tool behind `method: guidance`, for exact
// scores and learned ones alike. For each w (every rank its share of `samples` by global row; the same
// starting draws and, for the SDE, the same noise at every w):
//   - the mean and std of the projection <u, x_t> onto the class direction u (class mean minus the
//     other classes' mean) at every sampler step: the "mean projected trajectory";
//   - its pullback, the largest fall of that mean below its running maximum (overshoot and pull
//     back), and whether the trajectory is monotone: pullback within 3 standard errors of the mean
//     (for the reverse SDE counting the sample mean's share of its noise) or at most max_pullback
//     of the distance the mean rose;
//   - the share of final samples in the class support, at its far edge (the last `kFarEdge` of the
//     support's extent along u: Theorem 1), above 0 and beyond sqrt(w) along u (Theorem 2), and
//     the share that diverged (non-finite; left out of the rest). The sampler stops at t_min > 0,
//     where the class's own law p_{t_min} is the data plus noise sigma(t_min): the data's support
//     test allows for it (ClassData::in_support_at_noise).
// The class's own samples (ClassData::sample) are judged the same way: class_mean_projection,
// class_std_projection and class_far_edge_fraction, the reference every scale is read against.
// The prescription (the paper's): the largest scale, scanning upward, before the first whose mean
// projected trajectory is not monotone or whose in-support share falls below min_in_support.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "dist/communicator.h"
#include "guidance/class_data.h"
#include "guidance/guidance_config.h"

namespace tilt::guidance {

// The guided score at scale w: (w + 1) s(x, t | z) - w s(x, t).
using GuidedScore = std::function<at::Tensor(const at::Tensor& x, double t, double w)>;

inline constexpr double kFarEdge = 0.1;

struct ScanResult {
  std::vector<std::pair<std::string, double>> metrics;  // per scale, named <metric>_w<scale>
  double prescribed_scale = -1;                         // -1: even the smallest scale fails
  // What the study file holds (rank 0; names are HDF5 paths): times, trajectories, final samples.
  std::vector<std::pair<std::string, at::Tensor>> datasets;
};

ScanResult scan_guidance_scales(const ClassData& data, int label, const GuidedScore& score,
                                const SamplingConfig& sampling, const CounterRng& rng, Communicator& comm,
                                bool verbose);

}  // namespace tilt::guidance
