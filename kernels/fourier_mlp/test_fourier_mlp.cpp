// The fused CPU network against a plain double-precision reference written out here: forward
// outputs, and every parameter's gradient against central differences of the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "fourier_mlp/fourier_mlp_cpu.h"
#include "fourier_mlp/gelu.h"

namespace tilt::kernels {
namespace {

// Parameters as one flat float vector, in FourierMlpTensors order, with views into it.
struct Network {
  FourierMlpShape shape;
  std::vector<float> frequencies, flat;
  std::vector<std::pair<size_t, size_t>> spans;  // offset, size of each tensor below

  explicit Network(const FourierMlpShape& s, unsigned seed) : shape(s) {
    const size_t h = s.hidden, f = s.features, d = s.dim, o = s.outputs;
    std::vector<size_t> sizes{f, h * 2 * f, h, h * h, h, h * d, h};
    for (int l = 0; l < s.layers; ++l) sizes.insert(sizes.end(), {h * h, h});
    sizes.insert(sizes.end(), {o * h, o});
    size_t offset = 0;
    for (size_t n : sizes) spans.push_back({offset, n}), offset += n;
    flat.resize(offset);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (size_t i = 0; i < spans.size(); ++i) {
      const float scale = i == 0 ? 1.0f : 0.6f / std::sqrt(static_cast<float>(spans[i].second > h ? h : 1));
      for (size_t k = 0; k < spans[i].second; ++k) flat[spans[i].first + k] = scale * normal(rng);
    }
    for (int i = 0; i < s.features; ++i)
      frequencies.push_back(0.1f + 99.9f * i / std::max(1, s.features - 1));
  }
  template <typename T, typename Pointer>
  FourierMlpTensors<Pointer> view(T* base) const {
    FourierMlpTensors<Pointer> v{};
    size_t i = 0;
    const auto next = [&]() { return base + spans[i++].first; };
    v.phase = next();
    v.time_in_weight = next();
    v.time_in_bias = next();
    v.time_out_weight = next();
    v.time_out_bias = next();
    v.state_in_weight = next();
    v.state_in_bias = next();
    for (int l = 0; l < shape.layers; ++l) {
      v.hidden_weight[l] = next();
      v.hidden_bias[l] = next();
    }
    v.out_weight = next();
    v.out_bias = next();
    return v;
  }
  FourierMlpWeights weights() const { return view<const float, const float*>(flat.data()); }
};

double gelu_exact(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }

// y = W x + b with W [out, in] row-major.
std::vector<double> linear(const float* w, const float* b, const std::vector<double>& x, int out) {
  std::vector<double> y(out);
  const size_t in = x.size();
  for (int i = 0; i < out; ++i) {
    double sum = b[i];
    for (size_t j = 0; j < in; ++j) sum += static_cast<double>(w[i * in + j]) * x[j];
    y[i] = sum;
  }
  return y;
}

std::vector<double> reference_forward(const Network& net, const FourierMlpWeights& w, const float* x,
                                      float t) {
  const FourierMlpShape& s = net.shape;
  std::vector<double> features(2 * s.features);
  for (int i = 0; i < s.features; ++i) {
    const double angle = static_cast<double>(t) * net.frequencies[i] + w.phase[i];
    features[i] = std::sin(angle);
    features[s.features + i] = std::cos(angle);
  }
  std::vector<double> time = linear(w.time_in_weight, w.time_in_bias, features, s.hidden);
  for (double& v : time) v = gelu_exact(v);
  time = linear(w.time_out_weight, w.time_out_bias, time, s.hidden);
  std::vector<double> h =
      linear(w.state_in_weight, w.state_in_bias, std::vector<double>(x, x + s.dim), s.hidden);
  for (int i = 0; i < s.hidden; ++i) h[i] = gelu_exact(h[i] + time[i]);
  for (int l = 0; l < s.layers; ++l) {
    h = linear(w.hidden_weight[l], w.hidden_bias[l], h, s.hidden);
    for (double& v : h) v = gelu_exact(v);
  }
  return linear(w.out_weight, w.out_bias, h, s.outputs);
}

struct Batch {
  int steps, batch;
  std::vector<float> x, t, grad_out;
};

Batch make_batch(const FourierMlpShape& s, int steps, int batch, unsigned seed) {
  Batch b{steps, batch, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int i = 0; i < steps * batch * s.dim; ++i) b.x.push_back(normal(rng));
  for (int k = 0; k < steps; ++k) b.t.push_back(uniform(rng));
  for (int i = 0; i < steps * batch * s.outputs; ++i) b.grad_out.push_back(normal(rng));
  return b;
}

// sum grad_out . out under the reference, for central differences.
double reference_objective(const Network& net, const FourierMlpWeights& w, const Batch& b) {
  double total = 0;
  for (int k = 0; k < b.steps; ++k)
    for (int r = 0; r < b.batch; ++r) {
      const int64_t row = static_cast<int64_t>(k) * b.batch + r;
      const std::vector<double> out = reference_forward(net, w, b.x.data() + row * net.shape.dim, b.t[k]);
      for (int j = 0; j < net.shape.outputs; ++j) total += b.grad_out[row * net.shape.outputs + j] * out[j];
    }
  return total;
}

const FourierMlpShape kShape{2, 32, 8, 2, 3};

TEST(FourierMlpCpu, ForwardMatchesDoubleReference) {
  const Network net(kShape, 1);
  const Batch b = make_batch(kShape, 3, 101, 2);  // 303 rows: full tiles, register blocks and remainders
  FourierMlpCpu mlp(kShape, net.frequencies.data());
  mlp.set_weights(net.weights());
  std::vector<float> out(b.x.size() / kShape.dim * kShape.outputs);
  mlp.forward(b.x.data(), b.t.data(), b.steps, b.batch, out.data());
  double worst = 0;
  for (int k = 0; k < b.steps; ++k)
    for (int r = 0; r < b.batch; ++r) {
      const int64_t row = static_cast<int64_t>(k) * b.batch + r;
      const std::vector<double> expected =
          reference_forward(net, net.weights(), b.x.data() + row * 2, b.t[k]);
      for (int j = 0; j < kShape.outputs; ++j)
        worst = std::max(worst,
                         std::abs(out[row * kShape.outputs + j] - expected[j]) / (1 + std::abs(expected[j])));
    }
  // float32 accumulation over <= 64 terms of O(1) values plus the 1.5e-7 erf approximation.
  EXPECT_LT(worst, 2e-5) << "SIMD table " << mlp.ops().name;
}

TEST(FourierMlpCpu, ParameterGradientsMatchCentralDifferences) {
  const FourierMlpShape shape{2, 16, 8, 2, 2};
  Network net(shape, 3);
  const Batch b = make_batch(shape, 2, 103, 4);  // 206 rows: two full tiles and a partial one
  FourierMlpCpu mlp(shape, net.frequencies.data());
  mlp.set_weights(net.weights());
  std::vector<float> gradients(net.flat.size(), 0.0f);
  mlp.backward(b.x.data(), b.t.data(), b.steps, b.batch, b.grad_out.data(),
               net.view<float, float*>(gradients.data()));
  // Every parameter, central differences of the double reference (step 1e-3: truncation ~1e-6 of
  // the O(1) curvature; the float parameters' rounding ~1e-7 / 1e-3 relative).
  for (size_t i = 0; i < net.flat.size(); ++i) {
    const float saved = net.flat[i];
    const float step = 1e-3f;
    net.flat[i] = saved + step;
    const double plus = reference_objective(net, net.weights(), b);
    net.flat[i] = saved - step;
    const double minus = reference_objective(net, net.weights(), b);
    net.flat[i] = saved;
    const double expected = (plus - minus) / (2.0 * step);
    ASSERT_NEAR(gradients[i], expected, 2e-3 * (1 + std::abs(expected))) << "parameter " << i;
  }
}

TEST(FourierMlpCpu, EveryInstructionSetAgrees) {
  const Network net(kShape, 5);
  const Batch b = make_batch(kShape, 2, 77, 6);
  std::vector<const SimdOps*> tables{&simd_ops_generic()};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) tables.push_back(&simd_ops_avx2());
  if (__builtin_cpu_supports("avx512f")) tables.push_back(&simd_ops_avx512());
  std::vector<float> baseline;
  for (const SimdOps* ops : tables) {
    // gemm through each table on the network's largest product shape.
    const int m = 77, n = 32, k = 32;
    std::vector<float> a(m * k), bm(k * n), c(m * n, 1.0f);
    for (int i = 0; i < m * k; ++i) a[i] = b.x[i % b.x.size()];
    for (int i = 0; i < k * n; ++i) bm[i] = net.flat[i];
    ops->gemm(m, n, k, a.data(), k, 1, bm.data(), n, c.data(), n, true);
    for (int r = 0; r < m; ++r)
      for (int j = 0; j < n; ++j) {
        double expected = 1.0;
        for (int q = 0; q < k; ++q) expected += static_cast<double>(a[r * k + q]) * bm[q * n + j];
        ASSERT_NEAR(c[r * n + j], expected, 1e-4 * (1 + std::abs(expected))) << ops->name;
      }
    // Column sums over 16 columns (one AVX-512 vector: the tail of its two-vector loop) and 48; the
    // 16 floats after the output must stay untouched.
    for (const int cols : {16, 48}) {
      std::vector<float> m(5 * cols), out(cols + 16, 0.5f);
      for (int i = 0; i < 5 * cols; ++i) m[i] = 0.01f * i;
      ops->add_column_sums(5, cols, m.data(), out.data());
      for (int j = 0; j < cols; ++j) {
        double expected = 0.5;
        for (int r = 0; r < 5; ++r) expected += m[r * cols + j];
        ASSERT_NEAR(out[j], expected, 1e-5 * (1 + expected)) << ops->name << " " << cols << " columns";
      }
      for (int j = cols; j < cols + 16; ++j)
        ASSERT_EQ(out[j], 0.5f) << ops->name << ": wrote past the columns";
    }
  }
}

TEST(FourierMlpCpu, VectorGeluMatchesErf) {
  const SimdOps& ops = simd_ops();
  std::vector<float> p, a(4001), d(4001);
  for (int i = 0; i <= 4000; ++i) p.push_back(-10.0f + 20.0f * i / 4000);
  std::vector<float> alone(p.size());
  ops.gelu(static_cast<int64_t>(p.size()), p.data(), a.data(), d.data());
  ops.gelu(static_cast<int64_t>(p.size()), p.data(), alone.data(), nullptr);
  for (size_t i = 0; i < p.size(); ++i) {
    const double x = p[i];
    const double derivative =
        0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
    // erf approximation error 1.5e-7 times |x| <= 10, plus float rounding.
    ASSERT_NEAR(a[i], gelu_exact(x), 2e-6 * (1 + std::abs(x))) << x;
    ASSERT_NEAR(alone[i], gelu_exact(x), 2e-6 * (1 + std::abs(x))) << x;
    ASSERT_NEAR(d[i], derivative, 2e-6 * (1 + std::abs(x))) << x;
    ASSERT_NEAR(gelu(p[i]), gelu_exact(x), 2e-6 * (1 + std::abs(x))) << x;
    ASSERT_NEAR(gelu_derivative(p[i]), derivative, 2e-6 * (1 + std::abs(x))) << x;
  }
}

}  // namespace
}  // namespace tilt::kernels
