#include "core/blas_kernels.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tilt {
namespace {

std::string cpu_flags() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) return line + " ";
  return "";
}

}  // namespace

void select_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  const std::string flags = cpu_flags();
  const char* core =
      flags.find(" avx512f ") != std::string::npos && flags.find(" avx512bw ") != std::string::npos
          ? "SkylakeX"
      : flags.find(" avx2 ") != std::string::npos && flags.find(" fma ") != std::string::npos ? "Haswell"
                                                                                              : nullptr;
  if (!core) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): run on with OpenBLAS's own choice.
}

}  // namespace tilt
