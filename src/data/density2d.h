// The 2-D data sets of the synthetic experiments (DxMI's research/dxmi.md §6.3, the multivariate
// diffusions' 2-D ELBOs; BNAF's and FFJORD's densities), each with its exact normalised log-density
// and an exact counter-based sampler, so that every metric has ground truth:
//   8gaussians    eight isotropic Gaussians of std 0.5 on the circle of radius 4, the whole set
//                 divided by sqrt 2: modes at radius 2 sqrt 2 with variance 1/8, equal weights;
//   checkerboard  uniform on the 8 of the 16 cells of side 2 in [-4, 4]^2 whose indices
//                 floor(x/2) + floor(y/2) are even: density 1/32 there, 0 elsewhere;
//   2spirals      tilt's statement of FFJORD's two spirals: arm s = +-1 with probability 1/2,
//                 theta = 3 pi sqrt(u) (u uniform), x = s (theta / 3) (-cos theta, sin theta) + N(0, 0.15^2
//                 I): p(x) = 1/2 sum_s int_0^{3 pi} 2 theta / (3 pi)^2 N(x; s c(theta), 0.15^2 I) dtheta,
//                 evaluated by the midpoint rule on 1000 points an arm (exact for the linear weight;
//                 points 0.03 apart along the arm, a fifth of the noise's std: the sum's error is
//                 far below float precision).
// Modes for the occupancy metric: the 8 Gaussians, the 8 cells, the 2 arms.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "core/rng.h"

namespace tilt::data {

class Density2d {
 public:
  virtual ~Density2d() = default;
  // float32 [rows, 2]: exact samples for global rows [row_begin, row_begin + rows) of draw `draw`.
  virtual at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const = 0;
  // float64 [N]: the normalised log-density (-inf off the support).
  virtual at::Tensor log_density(const at::Tensor& x) const = 0;
  virtual int modes() const = 0;
  // int64 [N]: the mode each point belongs to (nearest Gaussian; the cell; the arm of the nearest
  // point of the spirals within 4 noise stds), -1 off the support.
  virtual at::Tensor mode_of(const at::Tensor& x) const = 0;
};

// "8gaussians", "checkerboard" or "2spirals"; anything else is a config error naming the choices.
std::unique_ptr<Density2d> make_density2d(const std::string& name);

}  // namespace tilt::data
