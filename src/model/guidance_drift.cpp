#include "model/guidance_drift.h"

#include <torch/torch.h>

namespace tilt {

at::Tensor GuidanceDrift::operator()(const at::Tensor& x, const at::Tensor& t) const {
  torch::NoGradGuard no_grad;
  const int64_t dim = x.size(-1);
  const at::Tensor gradient = score_(x.reshape({-1, dim})).reshape(x.sizes());
  const at::Tensor weight = (t / (t + dt_)).view({t.size(0), 1, 1});  // i / (i + 1)
  return torch::nan_to_num(scale_ * sigma2_ * weight * gradient, 0.0, 0.0, 0.0);
}

}  // namespace tilt
