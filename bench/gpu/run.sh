#!/usr/bin/env bash
# The GPU acceptance on a machine with a CUDA device and nothing but the CUDA toolkit, CMake and a
# C++ compiler (no LibTorch, MPI or HDF5): builds kernels/ on its own, checks every device kernel
# against its CPU oracle, and prints the analytic-drift rollout's time per rollout, trajectory-steps/s
# and the fraction of the device's measured copy bandwidth for 300 .. 3 000 000 trajectories, the network
# rollout, and the whole 25GMM TB iteration (rollout, scoring, Adam) at batch 300 / 3 000 / 30 000:
# time per iteration, transitions/s and the fraction of the measured FP32 FMA peak.
#   bash bench/gpu/run.sh [BUILD_DIR]        (from the repository root)
# GoogleTest comes from the system or from /usr/src/googletest (copy it into the tree if neither).
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir=${1:-build-gpu}
export PATH=/usr/local/cuda/bin:$PATH
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S kernels -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DTILT_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-80;90}"
cmake --build "$build_dir" --parallel "$(nproc)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "== kernels against their CPU oracles"
"$build_dir"/test_kernels
"$build_dir"/test_kernels_cuda
echo "== CPU kernels (one core)"
taskset -c 0 "$build_dir"/bench_kernels
echo "== device kernels"
"$build_dir"/bench_kernels_cuda
