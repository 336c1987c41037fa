// OpenBLAS picks its kernels from the CPU model once, when it is loaded. Debian's 0.3.21 does not
// know recent Xeons (e.g. family 6 model 207) and falls back to its SSE3 "Prescott" kernels, which run
// SGEMM at ~20 GFLOP/s instead of ~100 on one core of this project's machines. Before anything
// touches BLAS, select_blas_kernels() sets OPENBLAS_CORETYPE from the CPU's instruction-set flags
// (SkylakeX with AVX-512, Haswell with AVX2) and re-executes the program so the setting takes effect.
// A user's own OPENBLAS_CORETYPE is always respected.
#pragma once

namespace tilt {

void select_blas_kernels(char** argv);

}  // namespace tilt
