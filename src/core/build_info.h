// What code this binary was built from, recorded in every run's provenance. The values are written
// at build time by cmake/build_info.cmake (a rebuild after a commit updates them).
#pragma once

namespace tilt::build_info {

extern const char* const kCodeRevision;  // git commit, or "unknown" outside a git checkout
extern const char* const kCodeDirty;     // "true" when tracked files differed from it, "false", or "unknown"

}  // namespace tilt::build_info
