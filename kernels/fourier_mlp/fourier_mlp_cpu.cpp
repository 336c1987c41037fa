#include "fourier_mlp/fourier_mlp_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tilt::kernels {
namespace {

// Rows per tile: a tile's activations (kTileRows x H floats per layer) stay in L2 from one layer to
// the next; a multiple of every register block's row count.
constexpr int kTileRows = 96;

void transpose(const float* in, int rows, int cols, float* out) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      out[static_cast<int64_t>(c) * rows + r] = in[static_cast<int64_t>(r) * cols + c];
}

}  // namespace

bool fourier_mlp_fusable(const FourierMlpShape& shape) {
  return shape.hidden % 16 == 0 && shape.hidden > 0 && shape.hidden <= 256 && shape.features % 8 == 0 &&
         shape.features > 0 && shape.layers >= 0 && shape.layers <= kMaxHiddenLayers && shape.dim > 0 &&
         shape.outputs > 0;
}

FourierMlpCpu::FourierMlpCpu(const FourierMlpShape& shape, const float* frequencies)
    : shape_(shape), ops_(simd_ops()), frequencies_(frequencies, frequencies + shape.features) {}

void FourierMlpCpu::set_weights(const FourierMlpWeights& weights) {
  const int h = shape_.hidden, f2 = 2 * shape_.features, d = shape_.dim;
  weights_ = weights;
  time_in_t_.resize(static_cast<size_t>(f2) * h);
  transpose(weights.time_in_weight, h, f2, time_in_t_.data());
  time_out_t_.resize(static_cast<size_t>(h) * h);
  transpose(weights.time_out_weight, h, h, time_out_t_.data());
  state_in_t_.resize(static_cast<size_t>(d) * h);
  transpose(weights.state_in_weight, h, d, state_in_t_.data());
  hidden_t_.resize(static_cast<size_t>(shape_.layers) * h * h);
  for (int l = 0; l < shape_.layers; ++l)
    transpose(weights.hidden_weight[l], h, h, hidden_t_.data() + static_cast<int64_t>(l) * h * h);
}

void FourierMlpCpu::time_embedding(const float* t, int steps, float* derivative) {
  const int h = shape_.hidden, f = shape_.features;
  embedding_.resize(static_cast<size_t>(steps) * h);
  features_.resize(static_cast<size_t>(steps) * 2 * f);
  time_hidden_.resize(static_cast<size_t>(steps) * h);
  float *features = features_.data(), *hidden = time_hidden_.data(), *embedding = embedding_.data();
  for (int k = 0; k < steps; ++k) {
    float* row = features + static_cast<int64_t>(k) * 2 * f;
    for (int i = 0; i < f; ++i) {
      const float angle = t[k] * frequencies_[i] + weights_.phase[i];
      row[i] = std::sin(angle);
      row[f + i] = std::cos(angle);
    }
    std::memcpy(hidden + static_cast<int64_t>(k) * h, weights_.time_in_bias, h * sizeof(float));
    std::memcpy(embedding + static_cast<int64_t>(k) * h, weights_.time_out_bias, h * sizeof(float));
  }
  ops_.gemm(steps, h, 2 * f, features, 2 * f, 1, time_in_t_.data(), h, hidden, h, true);
  ops_.gelu(static_cast<int64_t>(steps) * h, hidden, hidden, derivative);
  ops_.gemm(steps, h, h, hidden, h, 1, time_out_t_.data(), h, embedding, h, true);
  for (int k = 0; k < steps; ++k)
    ops_.axpy(h, 1.0f, weights_.state_in_bias, embedding + static_cast<int64_t>(k) * h);
}

void FourierMlpCpu::output_layer(int rows, const float* activations, float* out) const {
  const int h = shape_.hidden, o = shape_.outputs;
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < o; ++j)
      out[static_cast<int64_t>(r) * o + j] =
          weights_.out_bias[j] + ops_.dot(h, activations + static_cast<int64_t>(r) * h,
                                          weights_.out_weight + static_cast<int64_t>(j) * h);
}

void FourierMlpCpu::forward_tile(const float* x, int64_t r0, int n, int batch, float* values,
                                 float* derivatives, float* out) {
  const int h = shape_.hidden, d = shape_.dim, layers = shape_.layers;
  const int64_t stride = static_cast<int64_t>(kTileRows) * h;
  float* pre = values;
  for (int i = 0; i < n; ++i)
    std::memcpy(pre + static_cast<int64_t>(i) * h, embedding_.data() + ((r0 + i) / batch) * h,
                h * sizeof(float));
  ops_.gemm(n, h, d, x + r0 * d, d, 1, state_in_t_.data(), h, pre, h, true);
  ops_.gelu(static_cast<int64_t>(n) * h, pre, pre, derivatives);
  for (int l = 0; l < layers; ++l) {
    const float* in = values + l * stride;
    float* next = values + (l + 1) * stride;
    for (int i = 0; i < n; ++i)
      std::memcpy(next + static_cast<int64_t>(i) * h, weights_.hidden_bias[l], h * sizeof(float));
    ops_.gemm(n, h, h, in, h, 1, hidden_t_.data() + static_cast<int64_t>(l) * h * h, h, next, h, true);
    ops_.gelu(static_cast<int64_t>(n) * h, next, next,
              derivatives ? derivatives + (l + 1) * stride : nullptr);
  }
  if (out) output_layer(n, values + layers * stride, out);
}

void FourierMlpCpu::forward(const float* x, const float* t, int steps, int batch, float* out) {
  const int64_t rows = static_cast<int64_t>(steps) * batch;
  time_embedding(t, steps, nullptr);
  values_.resize(static_cast<size_t>(shape_.layers + 1) * kTileRows * shape_.hidden);
  for (int64_t r0 = 0; r0 < rows; r0 += kTileRows) {
    const int n = static_cast<int>(std::min<int64_t>(kTileRows, rows - r0));
    forward_tile(x, r0, n, batch, values_.data(), nullptr, out + r0 * shape_.outputs);
  }
}

void FourierMlpCpu::backward(const float* x, const float* t, int steps, int batch, const float* grad_out,
                             const FourierMlpGradients& g) {
  const int h = shape_.hidden, f = shape_.features, f2 = 2 * f, d = shape_.dim, o = shape_.outputs,
            layers = shape_.layers;
  const int64_t rows = static_cast<int64_t>(steps) * batch, stride = static_cast<int64_t>(kTileRows) * h;
  time_derivative_.resize(static_cast<size_t>(steps) * h);
  time_embedding(t, steps, time_derivative_.data());
  values_.resize(static_cast<size_t>(layers + 1) * stride);
  derivatives_.resize(values_.size());
  grad_a_.resize(static_cast<size_t>(stride));
  grad_b_.resize(static_cast<size_t>(stride));
  std::vector<float> grad_embedding(static_cast<size_t>(steps) * h, 0.0f);
  std::vector<float> state_in_grad_t(static_cast<size_t>(d) * h, 0.0f);  // [D, H]

  for (int64_t r0 = 0; r0 < rows; r0 += kTileRows) {
    const int n = static_cast<int>(std::min<int64_t>(kTileRows, rows - r0));
    forward_tile(x, r0, n, batch, values_.data(), derivatives_.data(), nullptr);
    const auto value = [&](int l) { return values_.data() + l * stride; };
    const auto derivative = [&](int l) { return derivatives_.data() + l * stride; };
    const float* g_out = grad_out + r0 * o;
    // Output layer: d out_weight += g_out^T a_L, d a_L = g_out out_weight.
    float* grad = grad_a_.data();
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < o; ++j) g.out_bias[j] += g_out[static_cast<int64_t>(i) * o + j];
    ops_.gemm(o, h, n, g_out, 1, o, value(layers), h, g.out_weight, h, true);
    ops_.gemm(n, h, o, g_out, o, 1, weights_.out_weight, h, grad, h, false);
    // Hidden layers, last to first: grad holds d pre-activation of layer l after the multiply.
    float* spare = grad_b_.data();
    for (int l = layers; l >= 1; --l) {
      ops_.multiply(static_cast<int64_t>(n) * h, grad, derivative(l));
      ops_.add_column_sums(n, h, grad, g.hidden_bias[l - 1]);
      ops_.gemm(h, h, n, grad, 1, h, value(l - 1), h, g.hidden_weight[l - 1], h, true);
      ops_.gemm(n, h, h, grad, h, 1, weights_.hidden_weight[l - 1], h, spare, h, false);
      std::swap(grad, spare);
    }
    ops_.multiply(static_cast<int64_t>(n) * h, grad, derivative(0));
    // Rows of one step share a time embedding: column sums per run of equal steps.
    for (int i = 0; i < n;) {
      const int64_t step = (r0 + i) / batch;
      const int run = static_cast<int>(std::min<int64_t>(n - i, (step + 1) * batch - (r0 + i)));
      ops_.add_column_sums(run, h, grad + static_cast<int64_t>(i) * h, grad_embedding.data() + step * h);
      i += run;
    }
    ops_.gemm(d, h, n, x + r0 * d, 1, d, grad, h, state_in_grad_t.data(), h, true);
  }
  for (int hh = 0; hh < h; ++hh)
    for (int j = 0; j < d; ++j)
      g.state_in_weight[static_cast<int64_t>(hh) * d + j] +=
          state_in_grad_t[static_cast<int64_t>(j) * h + hh];

  // The time embedding, once per step: the state_in bias and time_out see grad_embedding directly.
  ops_.add_column_sums(steps, h, grad_embedding.data(), g.state_in_bias);
  ops_.add_column_sums(steps, h, grad_embedding.data(), g.time_out_bias);
  ops_.gemm(h, h, steps, grad_embedding.data(), 1, h, time_hidden_.data(), h, g.time_out_weight, h, true);
  std::vector<float> grad_hidden(static_cast<size_t>(steps) * h),
      grad_features(static_cast<size_t>(steps) * f2);
  ops_.gemm(steps, h, h, grad_embedding.data(), h, 1, weights_.time_out_weight, h, grad_hidden.data(), h,
            false);
  ops_.multiply(static_cast<int64_t>(steps) * h, grad_hidden.data(), time_derivative_.data());
  ops_.add_column_sums(steps, h, grad_hidden.data(), g.time_in_bias);
  ops_.gemm(h, f2, steps, grad_hidden.data(), 1, h, features_.data(), f2, g.time_in_weight, f2, true);
  ops_.gemm(steps, f2, h, grad_hidden.data(), h, 1, weights_.time_in_weight, f2, grad_features.data(), f2,
            false);
  // features = [sin(angle), cos(angle)], angle = t f + phase: d angle = d sin cos - d cos sin.
  for (int k = 0; k < steps; ++k) {
    const float* feature = features_.data() + static_cast<int64_t>(k) * f2;
    const float* grad_feature = grad_features.data() + static_cast<int64_t>(k) * f2;
    for (int i = 0; i < f; ++i)
      g.phase[i] += grad_feature[i] * feature[f + i] - grad_feature[f + i] * feature[i];
  }
}

}  // namespace tilt::kernels
