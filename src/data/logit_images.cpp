#include "data/logit_images.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt::data {

LogitImages dequantised_logits(const at::Tensor& pixels, const at::Tensor& uniforms) {
  const at::Tensor v = (pixels.to(torch::kFloat64) + uniforms.to(torch::kFloat64)) / 256.0;
  const at::Tensor s = kLogitAlpha + (1 - 2 * kLogitAlpha) * v;
  const at::Tensor log_s = torch::log(s), log_complement = torch::log1p(-s);
  // dy/dv = (1 - 2 alpha) / (s (1 - s)).
  const at::Tensor log_det = (std::log(1 - 2 * kLogitAlpha) - log_s - log_complement).sum(1);
  return {(log_s - log_complement).to(torch::kFloat32), log_det};
}

at::Tensor images_from_logits(const at::Tensor& y) {
  const at::Tensor v =
      ((torch::sigmoid(y.to(torch::kFloat64)) - kLogitAlpha) / (1 - 2 * kLogitAlpha)).clamp(0, 1);
  return (2 * v - 1).to(torch::kFloat32);
}

at::Tensor bits_per_dim(const at::Tensor& log_likelihood, const at::Tensor& log_det, int64_t dim) {
  return -(log_likelihood.to(torch::kFloat64) + log_det) / (static_cast<double>(dim) * std::log(2.0)) + 8.0;
}

}  // namespace tilt::data
