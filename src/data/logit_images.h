// Images as a continuous density model sees them (research/tn_mdm_guidance.md §B.4): pixels
// 0..255 dequantised uniformly, v = (pixel + u) / 256 in [0, 1), then logit-transformed,
// y = logit(alpha + (1 - 2 alpha) v) with alpha = 0.05. A model of y on R^D is a model of v on
// [0, 1)^D by the change of variables log p(v) = log p(y) + log |det dy/dv|, and since
// log P(pixels) >= E_u log p(v) - D log 256, the bits per dimension
//   BPD = -(log p(y) + log |det dy/dv|) / (D ln 2) + 8
// bound the pixels' code length (from above, as log p(y) does from below when it is an ELBO).
#pragma once

#include <ATen/core/Tensor.h>

namespace tilt::data {

inline constexpr double kLogitAlpha = 0.05;

struct LogitImages {
  at::Tensor values;   // y, float32 [n, D]
  at::Tensor log_det;  // log |det dy/dv| per image, float64 [n]
};

// pixels [n, D] (0..255, any floating or integer type) and uniforms u [n, D] in [0, 1] (tilt's
// counter RNG draws (0, 1]: u = 1 puts v on its bin's upper edge, a set of measure zero).
LogitImages dequantised_logits(const at::Tensor& pixels, const at::Tensor& uniforms);
// y [n, D] -> images in [-1, 1] (v = (sigmoid(y) - alpha) / (1 - 2 alpha) clamped to [0, 1]), the
// range data::to_pixels reads.
at::Tensor images_from_logits(const at::Tensor& y);
// Per image, float64 [n]: a log-likelihood (or its lower bound) of y in nats and log |det dy/dv|
// -> bits per dimension of the pixels.
at::Tensor bits_per_dim(const at::Tensor& log_likelihood, const at::Tensor& log_det, int64_t dim);

}  // namespace tilt::data
