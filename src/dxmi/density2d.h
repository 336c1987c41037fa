// The 2-D data sets of DxMI's synthetic experiments (research/dxmi.md §6.3, BNAF's densities), each
// with its exact normalised log-density and an exact counter-based sampler, so that every metric
// has ground truth:
//   8gaussians    eight isotropic Gaussians of std 0.5 on the circle of radius 4, the whole set
//                 divided by sqrt 2: modes at radius 2 sqrt 2 with variance 1/8, equal weights;
//   checkerboard  uniform on the 8 of the 16 cells of side 2 in [-4, 4]^2 whose indices
//                 floor(x/2) + floor(y/2) are even: density 1/32 there, 0 elsewhere.
// Each has 8 "modes" (Gaussians, cells) for the occupancy metric.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "core/rng.h"

namespace tilt::dxmi {

class Density2d {
 public:
  virtual ~Density2d() = default;
  // float32 [rows, 2]: exact samples for global rows [row_begin, row_begin + rows) of draw `draw`.
  virtual at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const = 0;
  // float64 [N]: the normalised log-density (-inf off the support).
  virtual at::Tensor log_density(const at::Tensor& x) const = 0;
  static constexpr int kModes = 8;
  // int64 [N]: the mode each point belongs to (nearest Gaussian; the cell), -1 off the support.
  virtual at::Tensor mode_of(const at::Tensor& x) const = 0;
};

// "8gaussians" or "checkerboard"; anything else is a config error naming the choices.
std::unique_ptr<Density2d> make_density2d(const std::string& name);

}  // namespace tilt::dxmi
