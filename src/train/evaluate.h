// Evaluation against ground truth: samples the trained sampler on all ranks and compares with the
// exact distribution and log Z of the job's target.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.h"
#include "train/job.h"

namespace tilt {

struct Evaluation {
  std::vector<std::pair<std::string, double>> metrics;  // same on every rank
  std::vector<float> samples;                           // rank 0: N x D terminal states; empty elsewhere
  double metric(const std::string& name) const;
};

// Metrics (see docs/metrics.md): log_z_learned, log_z_exact, log_z_error, elbo, iw_log_z, mode_tv,
// min_mode_fraction, outside_mass, energy_distance (on at most 4000 samples) and its two-sample
// noise level.
Evaluation evaluate(Job& job, Communicator& comm, int64_t samples, uint32_t draw = 0);

// Energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| between two sample sets [N, D], [M, D].
double energy_distance(const at::Tensor& x, const at::Tensor& y);

}  // namespace tilt
