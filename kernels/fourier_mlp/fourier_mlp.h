// The gfn-diffusion drift network (src/model/fourier_mlp.h) as torch-free kernels: raw pointers to
// LibTorch's parameter layout (Linear weights [out, in] row-major), no allocation by the caller.
//   embedding(t) = time_out(gelu(time_in([sin(f t + phase), cos(f t + phase)])))    once per time
//   h_0 = gelu(state_in(x) + embedding(t)),  h_l = gelu(hidden_l(h_{l-1})),  out = out(h_L)
// The time embedding is computed once per step and broadcast over the batch, so the per-sample
// cost is 2 (D H + L H^2 + H O) FLOPs forward.
#pragma once

#include <cstdint>

#include "common.h"

namespace tilt::kernels {

inline constexpr int kMaxHiddenLayers = 8;

struct FourierMlpShape {
  int dim = 0;       // D, state inputs
  int hidden = 0;    // H, width of every hidden layer
  int features = 0;  // F, Fourier frequencies (2 F time inputs)
  int layers = 0;    // L, hidden H x H layers after the first
  int outputs = 0;   // O
  // Forward FLOPs per sample at one time (time embedding excluded).
  double flops_per_sample() const {
    return 2.0 * (static_cast<double>(dim) * hidden + static_cast<double>(layers) * hidden * hidden +
                  static_cast<double>(hidden) * outputs);
  }
};

// Pointers into the network's parameters (const) or into their gradients (float*), same layout.
template <typename Pointer>
struct FourierMlpTensors {
  Pointer phase;                            // [F]
  Pointer time_in_weight, time_in_bias;     // [H, 2F], [H]
  Pointer time_out_weight, time_out_bias;   // [H, H], [H]
  Pointer state_in_weight, state_in_bias;   // [H, D], [H]
  Pointer hidden_weight[kMaxHiddenLayers];  // [H, H] each
  Pointer hidden_bias[kMaxHiddenLayers];    // [H] each
  Pointer out_weight, out_bias;             // [O, H], [O]
};
using FourierMlpWeights = FourierMlpTensors<const float*>;
using FourierMlpGradients = FourierMlpTensors<float*>;

// All parameters as one flat buffer, tensor after tensor in FourierMlpTensors order: its length,
// and the tensors' places in it.
inline int64_t fourier_mlp_parameter_count(const FourierMlpShape& s) {
  const int64_t h = s.hidden, f = s.features;
  return f + h * 2 * f + h + h * h + h + h * s.dim + h + s.layers * (h * h + h) + s.outputs * h + s.outputs;
}
template <typename Pointer>
TILT_HOST_DEVICE FourierMlpTensors<Pointer> fourier_mlp_flat_view(Pointer base, const FourierMlpShape& s) {
  const int64_t h = s.hidden, f = s.features;
  FourierMlpTensors<Pointer> v{};
  Pointer p = base;
  const auto take = [&p](int64_t n) {
    Pointer out = p;
    p += n;
    return out;
  };
  v.phase = take(f);
  v.time_in_weight = take(h * 2 * f);
  v.time_in_bias = take(h);
  v.time_out_weight = take(h * h);
  v.time_out_bias = take(h);
  v.state_in_weight = take(h * s.dim);
  v.state_in_bias = take(h);
  for (int l = 0; l < s.layers; ++l) {
    v.hidden_weight[l] = take(h * h);
    v.hidden_bias[l] = take(h);
  }
  v.out_weight = take(s.outputs * h);
  v.out_bias = take(s.outputs);
  return v;
}

// The shapes the fused kernels take: hidden a multiple of 16 up to 256, at most kMaxHiddenLayers.
bool fourier_mlp_fusable(const FourierMlpShape& shape);

}  // namespace tilt::kernels
