#!/usr/bin/env bash
# Installs, builds (warnings as errors) and runs the whole test suite, then builds with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit tests once more under them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
bash launch/build.sh build -DTILT_WERROR=ON
(cd build && ctest --output-on-failure --timeout 900 --parallel 2)

# -O1 with line tables only: half the compile time of -O2 -g (LibTorch's headers dominate), and
# sanitizer reports still name file and line.
bash launch/build.sh build-asan -DTILT_WERROR=ON -DTILT_SANITIZE=ON -DTILT_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
# LibTorch and OpenMPI keep allocations alive until exit by design: leak reports would be theirs.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -L unit --output-on-failure --timeout 900 --parallel 2)
