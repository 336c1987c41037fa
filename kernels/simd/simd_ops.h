// The vector code of the CPU kernels, one table per instruction set: the network's primitives and
// the mixture drift over rows. Each table is the same source (simd_ops.inc) compiled with that set's
// flags; the table is chosen once at run time from the CPU's flags, so one binary runs at its best on
// AVX-512, AVX2 + FMA and plain SSE2.
#pragma once

#include <cstdint>

namespace tilt::kernels {

struct MixtureView;
struct MixtureComponentAtTime;

struct SimdOps {
  const char* name;
  int vector_floats;
  // C[m, n] (+)= sum_k A(r, k) B[k, n] with A(r, k) = a[r a_row + k a_k], B row-major (ldb), C (ldc);
  // n a multiple of 16. `accumulate` adds to C, otherwise C is overwritten.
  void (*gemm)(int m, int n, int k, const float* a, int64_t a_row, int64_t a_k, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate);
  // a = gelu(p), and d = gelu'(p) unless d is null (count values; a may alias p). Without d a
  // cheaper erf is used; the two agree to ~1e-7.
  void (*gelu)(int64_t count, const float* p, float* a, float* d);
  // x *= y, count values.
  void (*multiply)(int64_t count, float* x, const float* y);
  // y += alpha x, count values.
  void (*axpy)(int64_t count, float alpha, const float* x, float* y);
  // out [cols] += sum over rows of m [rows, cols] (row-major); cols a multiple of 16.
  void (*add_column_sums)(int64_t rows, int cols, const float* m, float* out);
  // sum_k x[k] y[k].
  float (*dot)(int64_t count, const float* x, const float* y);
  // `iterations` x kPeakAccumulators x vector_floats independent FMAs from registers (the benchmark's
  // measured FLOP/s ceiling of this instruction set); returns a value that depends on all of them.
  float (*fma_loop)(int64_t iterations);
  // The mixture's Föllmer drift u [rows, D] at x [rows, D], one time whose per-component constants
  // are `table` [C] (mixture_drift.h): vector_floats rows at a time; D <= kMaxFusedDim.
  void (*mixture_drift)(const MixtureView& mixture, const MixtureComponentAtTime* table, const float* x,
                        int64_t rows, float* u);
};

inline constexpr int kPeakAccumulators = 12;

const SimdOps& simd_ops();  // the best table this CPU runs
const SimdOps& simd_ops_generic();
const SimdOps& simd_ops_avx2();
const SimdOps& simd_ops_avx512();

}  // namespace tilt::kernels
