// What every kernel folder shares: the host/device qualifier for per-element math that the CPU
// implementations (the oracles) and the CUDA kernels both call, and the CUDA stream type, so that
// kernel headers compile with or without the CUDA toolkit.
#pragma once

#if defined(__CUDACC__)
#define TILT_HOST_DEVICE __host__ __device__
#include <cuda_runtime_api.h>
#else
#define TILT_HOST_DEVICE
struct CUstream_st;
using cudaStream_t = CUstream_st*;
#endif

namespace tilt::kernels {
inline constexpr float kLog2PiF = 1.83787706640934534f;  // log(2 pi)
}  // namespace tilt::kernels
