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

// Metrics (see docs/metrics.md): log_z_learned, log_z_exact, log_z_error, elbo, iw_log_z, eubo,
// mode_tv, min_mode_fraction, outside_mass, energy_distance and sliced_w2 (on at most 4000 samples),
// each distance and mode_tv beside the same metric of exact samples (its noise floor), and what the
// objective reports about the samples (a log-reward floor's effect).
Evaluation evaluate(Job& job, Communicator& comm, int64_t samples, uint32_t draw = 0);

// Sliced 2-Wasserstein distance between equal-size sample sets [N, D]: the root mean over unit
// directions (rows of `directions`, normalised) of the squared W2 of the projections.
double sliced_wasserstein2(const at::Tensor& x, const at::Tensor& y, const at::Tensor& directions);

// Energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| between two sample sets [N, D], [M, D].
double energy_distance(const at::Tensor& x, const at::Tensor& y);

}  // namespace tilt
