// Device entry point of the mixture drift (mixture_drift.h); device pointers, the caller's stream.
#pragma once

#include "mixture_drift/mixture_drift.h"

namespace tilt::kernels {

// u [rows, D] at x [rows, D], time t; returns the launch's cudaError_t.
int mixture_follmer_drift_cuda(const MixtureView& mixture, const float* x, int64_t rows, float t, float* u,
                               cudaStream_t stream);

}  // namespace tilt::kernels
