// CPU setup of a process, before any work. OpenBLAS picks its kernels from the CPU model once, when it is loaded. Debian's 0.3.21 does not
// know recent Xeons (e.g. family 6 model 207) and falls back to its SSE3 "Prescott" kernels: 1024^3
// SGEMM on one core runs at 20 GFLOP/s instead of 107 with the SkylakeX kernels (bench_iteration).
// Before anything touches BLAS, select_blas_kernels() sets OPENBLAS_CORETYPE from the CPU's
// instruction-set flags (SkylakeX with AVX-512, Haswell with AVX2) and re-executes the program so the
// setting takes effect. A user's own OPENBLAS_CORETYPE is always respected.
//
// configure_threads() then gives a rank's cores to LibTorch's intra-op pool and one thread to
// OpenBLAS's own pool: with both pools at 2 threads on 2 cores their spinning workers starve each
// other (bench_iteration on one rank: rollout 625 ms per iteration, against 28 ms with one
// OpenBLAS thread), so BLAS calls run on the calling thread.
#pragma once

namespace tilt {

void select_blas_kernels(char** argv);
void configure_threads(int cores);

}  // namespace tilt
