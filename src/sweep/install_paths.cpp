#include "sweep/install_paths.h"

#include <cstdlib>

namespace tilt {

std::filesystem::path source_dir() {
  if (const char* dir = std::getenv("TILT_SOURCE_DIR"); dir && *dir) return dir;
  return TILT_SOURCE_DIR;
}

std::filesystem::path python_package_dir() { return source_dir() / "python"; }
std::filesystem::path slurm_script_dir() { return source_dir() / "launch" / "slurm"; }
std::filesystem::path tilt_executable() { return std::filesystem::read_symlink("/proc/self/exe"); }

}  // namespace tilt
