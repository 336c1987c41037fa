// GELU with the exact erf form LibTorch's torch::gelu uses, and its derivative, as scalar
// host/device math (the CUDA kernels and the CPU reference loops call these; the CPU's vector code
// in fourier_mlp_simd.inc evaluates the same formulas lane-wise).
#pragma once

#include <cmath>

#include "common.h"

namespace tilt::kernels {

inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143268f;

TILT_HOST_DEVICE inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * kInvSqrt2)); }

// d gelu / dx = Phi(x) + x phi(x).
TILT_HOST_DEVICE inline float gelu_derivative(float x) {
  return 0.5f * (1.0f + erff(x * kInvSqrt2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
}

}  // namespace tilt::kernels
