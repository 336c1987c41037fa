// A learned backward kernel for sampler objectives (gfn-diffusion's learn_pb, research/rtb.md errata):
// a network of (x_{i+1}, t_{i+1}) whose 2D outputs a, b give the factors
//   shrink   1 + scale_range tanh(a)   on the Brownian bridge's pull towards x_0,
//   variance 1 + scale_range tanh(b)   on its variance,
// both 1 at initialisation (the zero output layer), so training starts from the fixed bridge. With
// scale_range < 1 the variance stays positive. TB-family losses train it with the policy.
#pragma once

#include <vector>

#include "core/config.h"
#include "model/fourier_mlp.h"
#include "model/parameters.h"
#include "process/step_kernel.h"

namespace tilt {

class LearnedBackward {
 public:
  LearnedBackward(int dim, const NetworkConfig& network, double scale_range);
  // x_next [K, B, D] at times t_next [K] -> the correction of the steps that end there.
  BackwardCorrection operator()(const at::Tensor& x_next, const at::Tensor& t_next) const;
  std::vector<NamedTensor> parameters() const;

 private:
  mutable FourierMlp network_;
  double scale_range_;
};

}  // namespace tilt
