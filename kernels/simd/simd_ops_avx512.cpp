// SimdOps for avx512 (flags set in kernels/CMakeLists.txt).
#define TILT_SIMD_BYTES 64
#define TILT_SIMD_ROWS 12
#define TILT_SIMD_CHUNKS 2
#define TILT_SIMD_NAME simd_ops_avx512
#define TILT_SIMD_LABEL "avx512"
#include "simd/simd_ops.inc"
