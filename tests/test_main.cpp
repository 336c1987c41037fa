// The unit tests' main: the same BLAS kernel selection as the tilt executable, then GoogleTest.
#include <gtest/gtest.h>

#include "core/cpu_setup.h"

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
