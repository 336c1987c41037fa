// The drift network on the CPU, fused: all layers of a tile of rows run back to back on cache-sized
// buffers, bias and GELU applied in place, the time embedding computed once per time. `forward` is
// the inference pass (rollout, and the scoring's forward); `backward` recomputes each tile's
// forward with its activations kept in the tile and backpropagates it at once, so that nothing of
// size rows x hidden goes to memory. That costs one forward more than keeping every activation, and
// measured the same at 15 000 rows a rank (23 MB kept) and 1.5x faster at 30 000 (46 MB kept,
// memory-bound).
#pragma once

#include <cstdint>
#include <vector>

#include "fourier_mlp/fourier_mlp.h"
#include "simd/simd_ops.h"

namespace tilt::kernels {

class FourierMlpCpu {
 public:
  // `frequencies` [F] are fixed (a buffer, not a parameter).
  FourierMlpCpu(const FourierMlpShape& shape, const float* frequencies);
  const FourierMlpShape& shape() const { return shape_; }
  const SimdOps& ops() const { return ops_; }

  // Reads the weights (once per call site after every optimiser step: it packs transposed copies).
  void set_weights(const FourierMlpWeights& weights);

  // out [steps, batch, O] from x [steps, batch, D] at times t [steps].
  void forward(const float* x, const float* t, int steps, int batch, float* out);
  // Adds d(sum grad_out . out)/d parameter to `gradients` (same layout as the weights) for the
  // forward of (x, t) with the current weights.
  void backward(const float* x, const float* t, int steps, int batch, const float* grad_out,
                const FourierMlpGradients& gradients);

 private:
  // embedding [steps, H] = time_out(gelu(time_in(features(t)))) + state_in bias; with `derivative`,
  // the time network's gelu' too (features_ and time_hidden_ always).
  void time_embedding(const float* t, int steps, float* derivative);
  // Layers 0..L of rows [r0, r0 + n) into `values` (layer l at l * kTileRows * H) and, if given,
  // their gelu' into `derivatives` (same layout); the outputs into out (n x O) if given.
  void forward_tile(const float* x, int64_t r0, int n, int batch, float* values, float* derivatives,
                    float* out);
  void output_layer(int rows, const float* activations, float* out) const;

  FourierMlpShape shape_;
  const SimdOps& ops_;
  std::vector<float> frequencies_;
  FourierMlpWeights weights_{};
  // Transposed [in, out] copies of every Linear weight, for the forward's row-major products.
  std::vector<float> time_in_t_, time_out_t_, state_in_t_, hidden_t_;
  std::vector<float> embedding_, features_, time_hidden_, time_derivative_;
  std::vector<float> values_, derivatives_, grad_a_, grad_b_;  // one tile each
};

}  // namespace tilt::kernels
