#include "core/rng.h"

#include <torch/torch.h>

#include "philox.h"

namespace tilt {
namespace {

using kernels::Philox4x32;

// Fills out[rows*cols] with 4 values per Philox call; `map` turns one block of 4 words into 4 floats.
template <typename Map>
at::Tensor fill(uint64_t seed, RngStream stream, uint32_t iteration, uint32_t step, int64_t row_begin,
                int64_t rows, int64_t cols, Map map) {
  at::Tensor out = torch::empty({rows, cols}, torch::kFloat32);
  float* data = out.data_ptr<float>();
  const kernels::PhiloxKey key = kernels::philox_key(seed, static_cast<uint32_t>(stream));
  const int64_t blocks_per_row = (cols + 3) / 4;
  for (int64_t r = 0; r < rows; ++r) {
    const auto global_row = static_cast<uint32_t>(row_begin + r);
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const Philox4x32 bits = kernels::philox4x32_10(
          Philox4x32{{global_row, static_cast<uint32_t>(b), step, iteration}}, key.k0, key.k1);
      float values[4];
      map(bits, values);
      for (int64_t k = 0; k < 4 && 4 * b + k < cols; ++k) data[r * cols + 4 * b + k] = values[k];
    }
  }
  return out;
}

}  // namespace

at::Tensor CounterRng::normal(RngStream stream, uint32_t iteration, uint32_t step, int64_t row_begin,
                              int64_t rows, int64_t cols) const {
  return fill(seed_, stream, iteration, step, row_begin, rows, cols, [](const Philox4x32& bits, float* out) {
    kernels::box_muller(kernels::philox_uniform(bits.v[0]), kernels::philox_uniform(bits.v[1]), out[0],
                        out[1]);
    kernels::box_muller(kernels::philox_uniform(bits.v[2]), kernels::philox_uniform(bits.v[3]), out[2],
                        out[3]);
  });
}

at::Tensor CounterRng::uniform(RngStream stream, uint32_t iteration, uint32_t step, int64_t row_begin,
                               int64_t rows, int64_t cols) const {
  return fill(seed_, stream, iteration, step, row_begin, rows, cols, [](const Philox4x32& bits, float* out) {
    for (int k = 0; k < 4; ++k) out[k] = kernels::philox_uniform(bits.v[k]);
  });
}

}  // namespace tilt
