#include "simd/simd_ops.h"

namespace tilt::kernels {

const SimdOps& simd_ops() {
  static const SimdOps& best = []() -> const SimdOps& {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return simd_ops_avx512();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return simd_ops_avx2();
    return simd_ops_generic();
  }();
  return best;
}

}  // namespace tilt::kernels
