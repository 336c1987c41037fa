// The networks DxMI trains — the noise predictor eps(x, t), the value V(x, t) and the energy E(x) —
// behind one interface, so that the algorithm (dxmi.h) is the same for 2-D data and for images.
// States are flat rows [B, D] everywhere; an image network reads them as [B, channels, side, side]
// (channels: one for DxMI's images, K for a multivariate diffusion's state, mdm/).
//   architecture mlp   tilt's Fourier-feature MLP (model/fourier_mlp.h) for all three (2-D data),
//                      the value and the energy optionally reading the state through random
//                      Fourier features (below);
//   architecture unet  a small U-Net for the noise predictor and a strided convolutional critic for
//                      the value and the energy (square images, side divisible by 4), below.
// U-Net (DDPM's shape, scaled down; `channels` C; GroupNorm over groups of >= 4 channels):
// sinusoidal time features -> MLP (4C); a 3x3 input convolution; residual blocks
// (GroupNorm-SiLU-conv, time added per channel, GroupNorm-SiLU-conv)
// at side s (C), s/2 (2C) and s/4 (2C, the middle), strided convolutions down, nearest upsampling
// with skip concatenation up (2C at s/2, C at s), and a 3x3 output convolution that starts at zero.
// Critic: 3x3 convolutions C (s), 2C (s/2, stride 2), 4C (s/4, stride 2), each GroupNorm-SiLU with
// the time's embedding added, global mean pool, Linear to one value.
// A conditional noise predictor (classifier-free guidance, guidance/) reads a class label per row as
// well: the MLP as a one-hot block appended to x, the U-Net as a learned embedding (4C) added to the
// time's (DDPM's class conditioning).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "model/parameters.h"

namespace tilt::dxmi {

// count m > 0: a critic reads x and sin, cos(W x) for m fixed frequencies W [m, D] ~ N(0, scale^2)
// (random Fourier features, Tancik et al. 2020; drawn from a fixed seed, the same in every run). An
// MLP of raw coordinates learns the energy's low frequencies first: a ring for 8gaussians, not its
// eight modes; blurred checkerboard edges. The noise predictor keeps raw coordinates: its states
// leave the data's box, where periodic features would alias them.
struct CriticFeatures {
  int count = 0;
  double scale = 1.0;
};

struct ArchitectureConfig {
  std::string kind = "mlp";  // mlp | unet
  NetworkConfig mlp;         // hidden, fourier_features, layers (mlp)
  // mlp: how the critics (value and energy) read the state; the noise predictor ignores it.
  CriticFeatures critic_features;
  int channels = 16;  // C (unet)
};

inline ArchitectureConfig mlp_architecture(int hidden, int fourier_features, int layers) {
  ArchitectureConfig config;
  config.mlp.hidden = hidden;
  config.mlp.fourier_features = fourier_features;
  config.mlp.layers = layers;
  return config;
}

class StateTimeNetwork {
 public:
  virtual ~StateTimeNetwork() = default;
  // x [B, D] and t [1] (one time for every row) or [B] (a time per row) -> [B, outputs].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) const { return evaluate(x, t, {}); }
  // A conditional network's (make_noise_predictor's `classes`) output for per-row labels int64 [B].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) const {
    return evaluate(x, t, labels);
  }
  virtual std::vector<NamedTensor> parameters() const = 0;
  // FLOPs of one forward pass for one row (time embeddings excluded).
  virtual double flops_per_sample() const = 0;

 protected:
  // labels undefined: an unconditional evaluation. An Error where labels and the network disagree.
  virtual at::Tensor evaluate(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) const = 0;
};

// eps(x, t): D outputs, zero at initialisation's last layer where the architecture has one; a U-Net
// reads a row as `image_channels` images of D / image_channels pixels each. classes > 0: eps(x, t, z)
// for labels z in 0..classes - 1, which every call must then give.
std::unique_ptr<StateTimeNetwork> make_noise_predictor(const ArchitectureConfig& config, int dim,
                                                       int image_channels = 1, int classes = 0);
// The critics' random Fourier frequencies W [features, dim] ~ N(0, scale^2), the same on every call.
at::Tensor critic_frequencies(int features, int dim, double scale);
// V(x, t) and E(x): one output.
std::unique_ptr<StateTimeNetwork> make_critic(const ArchitectureConfig& config, int dim);
// The image side an architecture reads a row of `dim` values as (0 for mlp); an Error when `dim` is
// not `image_channels` squares of a side divisible by 4.
int image_side(const ArchitectureConfig& config, int dim, int image_channels = 1);

}  // namespace tilt::dxmi
