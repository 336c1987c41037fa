// SimdOps for avx2 (flags set in kernels/CMakeLists.txt).
#define TILT_SIMD_BYTES 32
#define TILT_SIMD_ROWS 6
#define TILT_SIMD_CHUNKS 2
#define TILT_SIMD_NAME simd_ops_avx2
#define TILT_SIMD_LABEL "avx2"
#include "simd/simd_ops.inc"
