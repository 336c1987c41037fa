// Files tilt uses beside its binary: the Python analysis package (`tilt report`) and the Slurm batch
// scripts (`tilt sweep --slurm`). They live in the source tree tilt was built from; TILT_SOURCE_DIR
// in the environment points at another copy (e.g. an installed one on a cluster).
#pragma once

#include <filesystem>

namespace tilt {

std::filesystem::path source_dir();
std::filesystem::path python_package_dir();  // source_dir()/python
std::filesystem::path slurm_script_dir();    // source_dir()/launch/slurm
std::filesystem::path tilt_executable();     // this program, absolute

}  // namespace tilt
