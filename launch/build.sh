#!/usr/bin/env bash
# Configures and builds tilt into BUILD_DIR (default: build). Extra arguments go to CMake, e.g.
#   launch/build.sh build-asan -DTILT_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
# ccache can reuse precompiled-header builds only with these relaxations.
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" --parallel "$(nproc)"
