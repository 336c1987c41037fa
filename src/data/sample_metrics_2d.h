// A 2-D sampler's samples against exact samples of the data density (data/density2d.h): the sliced
// 2-Wasserstein distance over 128 random directions and the energy distance (on up to 4000), each
// beside the same distance between two exact sample sets (its noise floor), the fraction of samples
// at each mode and off the support. Used by every family with 2-D data (DxMI, multivariate
// diffusions).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "data/density2d.h"
#include "dist/communicator.h"
#include "io/hdf5_file.h"

namespace tilt::data {

using Metrics = std::vector<std::pair<std::string, double>>;

// `terminal`: this rank's rows [n_rank, 2] of `samples` over all ranks. Equal on every rank. Names:
// sliced_w2, sliced_w2_exact_vs_exact, energy_distance, energy_distance_exact_vs_exact,
// mode_fraction_min, mode_fraction_max, mode_fraction_worst_rel_dev (max_k |f_k - 1/K| / (1/K)),
// outside_support. `gathered` (optional): all the samples [samples, 2] on rank 0 (empty elsewhere).
Metrics sample_metrics_2d(const at::Tensor& terminal, const Density2d& density, const CounterRng& rng,
                          int64_t samples, Communicator& comm, at::Tensor* gathered = nullptr);

// The plots' grid: kFigureGridSide points a side over [-4.5, 4.5]^2, as rows (x, y) [side^2, 2]
// float64 in image order (row i of the image at y[i]): reshape a value per point to [side, side].
constexpr int64_t kFigureGridSide = 200;
at::Tensor figure_grid_axis();
at::Tensor figure_grid_points();

// /samples [N, 2] and, for the plots, the exact log-density on the figure grid (/exact/x, /exact/y,
// /exact/log_density [y, x], clamped at -1e4 off the support).
void write_samples_2d(io::H5File& file, const at::Tensor& samples, const Density2d& density);

}  // namespace tilt::data
