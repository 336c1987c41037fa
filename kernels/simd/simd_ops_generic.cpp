// SimdOps for generic (flags set in kernels/CMakeLists.txt).
#define TILT_SIMD_BYTES 16
#define TILT_SIMD_ROWS 3
#define TILT_SIMD_CHUNKS 4
#define TILT_SIMD_NAME simd_ops_generic
#define TILT_SIMD_LABEL "generic"
#include "simd/simd_ops.inc"
