#include "core/cpu_setup.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
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

void configure_threads(int cores) {
  at::set_num_threads(cores);
  // Looked up at run time: which BLAS LibTorch loads is the system's packaging choice.
  using SetThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(1);
}

}  // namespace tilt
