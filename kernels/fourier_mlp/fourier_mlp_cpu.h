// The drift network on the CPU, fused: all layers of a block of rows run back to back on cache-sized
// tiles, bias and GELU applied in place, the time embedding computed once per time. `forward` is the
// rollout's inference pass; `forward` with `FourierMlpActivations` keeps what `backward` needs, which
// then accumulates every parameter's gradient from the gradient of the outputs in one pass.
#pragma once

#include <cstdint>
#include <vector>

#include "fourier_mlp/fourier_mlp.h"
#include "fourier_mlp/simd_ops.h"

namespace tilt::kernels {

// What a training forward keeps for the backward pass, in one caller-owned buffer of
// `floats(shape, steps, batch)` floats (a framework tensor can own it: tilt's autograd node does).
struct FourierMlpActivations {
  int steps = 0, batch = 0;
  float* values = nullptr;           // per layer l = 0..L: gelu(pre-activation) [N, H], N = steps x batch
  float* derivatives = nullptr;      // per layer: gelu'(pre-activation) [N, H]
  float* time_features = nullptr;    // [steps, 2F]
  float* time_hidden = nullptr;      // [steps, H], after gelu
  float* time_derivative = nullptr;  // [steps, H]

  static int64_t floats(const FourierMlpShape& shape, int steps, int batch);
  // Views into `buffer` (at least floats(shape, steps, batch) long).
  static FourierMlpActivations in(float* buffer, const FourierMlpShape& shape, int steps, int batch);
};

class FourierMlpCpu {
 public:
  // `frequencies` [F] are fixed (a buffer, not a parameter).
  FourierMlpCpu(const FourierMlpShape& shape, const float* frequencies);
  const FourierMlpShape& shape() const { return shape_; }
  const SimdOps& ops() const { return ops_; }

  // Reads the weights (once per call site after every optimiser step: it packs transposed copies).
  void set_weights(const FourierMlpWeights& weights);

  // out [steps, batch, O] from x [steps, batch, D] at times t [steps]; with `keep`, the activations
  // for backward.
  void forward(const float* x, const float* t, int steps, int batch, float* out,
               FourierMlpActivations* keep = nullptr);
  // Adds d(sum grad_out . out)/d parameter to `gradients` (same layout as the weights) for the rows
  // of the forward that filled `kept`; x must be that forward's input.
  void backward(const float* x, const FourierMlpActivations& kept, const float* grad_out,
                const FourierMlpGradients& gradients);

 private:
  // embedding [steps, H] = time_out(gelu(time_in(features(t)))) + state_in bias.
  void time_embedding(const float* t, int steps, float* embedding, float* features, float* hidden,
                      float* derivative);
  void output_layer(int rows, const float* activations, float* out) const;

  FourierMlpShape shape_;
  const SimdOps& ops_;
  std::vector<float> frequencies_;
  FourierMlpWeights weights_{};
  // Transposed [in, out] copies of every Linear weight, for the forward's row-major products.
  std::vector<float> time_in_t_, time_out_t_, state_in_t_, hidden_t_;
  std::vector<float> embedding_, features_, time_hidden_, tile_;
};

}  // namespace tilt::kernels
