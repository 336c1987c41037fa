// tilt's own register-blocked GEMM (simd/, the instruction set chosen at run time) against libxsmm
// (JIT small-matrix kernels) and oneDNN (dnnl_sgemm), both Debian packages, on the two shapes the
// fused network spends its time in: the forward tile C[96, H] += A[96, H] W^T (every hidden layer,
// rollout and scoring) and the weight gradient C[H, H] += G^T[H, 96] A[96, H] (scoring). GFLOP/s
// beside the measured FMA peak of one core (pin it: taskset -c 0). A library missing at build
// time prints "not built"; a shape a library will not dispatch prints "unsupported".
// Usage: bench_gemm_libraries [--hidden H]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "simd/simd_ops.h"
#if TILT_BENCH_LIBXSMM
#include <libxsmm.h>
#endif
#if TILT_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// GFLOP/s of `call` (2 m n k FLOPs) repeated over `tiles` tiles, best of 7; 0 if `call` is empty.
double gflops(const std::function<void()>& call, int m, int n, int k, int tiles) {
  if (!call) return 0;
  double best = 1e30;
  for (int repeat = 0; repeat < 7; ++repeat) {
    const auto start = Clock::now();
    for (int i = 0; i < tiles; ++i) call();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return 2.0 * m * n * k * tiles / best / 1e9;
}

// The largest difference between `call`'s product (into `out`, from 0) and `reference`.
float difference(const std::function<void()>& call, std::vector<float>& out,
                 const std::vector<float>& reference) {
  if (!call) return 0;
  std::fill(out.begin(), out.end(), 0.0f);
  call();
  float largest = 0;
  for (size_t i = 0; i < out.size(); ++i) largest = std::max(largest, std::abs(out[i] - reference[i]));
  return largest;
}

void print(const char* shape, const char* library, double rate, double peak, float max_difference,
           const char* why) {
  if (rate > 0)
    std::printf("%-34s %-8s %10.1f %9.0f%% %14.1e\n", shape, library, rate, 100 * rate / peak,
                max_difference);
  else
    std::printf("%-34s %-8s %10s\n", shape, library, why);
}

}  // namespace

int main(int argc, char** argv) {
  int hidden = 64;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--hidden")) hidden = std::atoi(argv[i + 1]);
  using namespace tilt::kernels;
  const SimdOps& ops = simd_ops();
  volatile float sink = 0;
  const int64_t fma_iterations = 20'000'000;
  double peak_s = 1e30;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto start = Clock::now();
    sink = sink + ops.fma_loop(fma_iterations);
    peak_s = std::min(peak_s, std::chrono::duration<double>(Clock::now() - start).count());
  }
  const double peak = 2.0 * fma_iterations * kPeakAccumulators * ops.vector_floats / peak_s / 1e9;
  std::printf("# bench_gemm_libraries: own kernels %s, FMA peak (measured) %.1f GFLOP/s on one core\n",
              ops.name, peak);
  std::printf("%-34s %-8s %10s %10s %14s\n", "shape", "library", "GFLOP/s", "of_peak", "max|C - tilt|");

  const int h = hidden, rows = 96, tiles = 2000;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> a(rows * h), w_t(h * h), g(rows * h), c(rows * h), cw(h * h);
  for (std::vector<float>* v : {&a, &g, &w_t})
    for (float& x : *v) x = normal(rng);

  // Forward tile: C[96, H] += A[96, H] B[H, H] (B = W^T, row-major, as the network stores it).
  // Weight gradient: C[H, H] += G^T A, G [96, H] read transposed (a_row 1, a_k H).
  using Call = std::function<void()>;
  Call forward_call[3], weight_call[3];
  const char* names[3] = {"tilt", "libxsmm", "oneDNN"};
  const char* why[3] = {"", "not built", "not built"};
  forward_call[0] = [&] { ops.gemm(rows, h, h, a.data(), h, 1, w_t.data(), h, c.data(), h, true); };
  weight_call[0] = [&] { ops.gemm(h, h, rows, g.data(), 1, h, a.data(), h, cw.data(), h, true); };
#if TILT_BENCH_LIBXSMM
  libxsmm_init();
  // libxsmm is column-major: row-major C = A B is column-major C^T = B^T A^T; for the weight
  // gradient C^T = A^T G, A^T is A's storage and G is read transposed.
  const float one = 1.0f;
  const libxsmm_blasint lh = h, lrows = rows;
  const int trans_b = LIBXSMM_GEMM_FLAG_TRANS_B;
  why[1] = "unsupported";
  if (const libxsmm_smmfunction f =
          libxsmm_smmdispatch(lh, lrows, lh, &lh, &lh, &lh, &one, &one, nullptr, nullptr))
    forward_call[1] = [&, f] { f(w_t.data(), a.data(), c.data()); };
  if (const libxsmm_smmfunction f =
          libxsmm_smmdispatch(lh, lh, lrows, &lh, &lh, &lh, &one, &one, &trans_b, nullptr))
    weight_call[1] = [&, f] { f(a.data(), g.data(), cw.data()); };
#endif
#if TILT_BENCH_ONEDNN
  forward_call[2] = [&] {
    dnnl_sgemm('N', 'N', rows, h, h, 1.0f, a.data(), h, w_t.data(), h, 1.0f, c.data(), h);
  };
  weight_call[2] = [&] {
    dnnl_sgemm('T', 'N', h, h, rows, 1.0f, g.data(), h, a.data(), h, 1.0f, cw.data(), h);
  };
#endif
  const auto report = [&](const char* shape, Call* calls, int m, int n, int k, std::vector<float>& out) {
    std::fill(out.begin(), out.end(), 0.0f);
    calls[0]();
    const std::vector<float> reference = out;
    for (int library = 0; library < 3; ++library)
      print(shape, names[library], gflops(calls[library], m, n, k, tiles), peak,
            difference(calls[library], out, reference), why[library]);
  };
  report("forward tile 96 x H x H", forward_call, rows, h, h, c);
  report("weight gradient H x H x 96", weight_call, h, h, rows, cw);
#if TILT_BENCH_LIBXSMM
  libxsmm_finalize();
#endif
  return sink == 12345.0f ? 1 : 0;
}
