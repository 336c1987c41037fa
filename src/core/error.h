// The one exception type tilt throws for problems a user can act on (bad config, missing file,
// corrupt checkpoint). The CLI prints its message on one line and exits non-zero; under MPI the
// failing rank aborts the job so that no rank is left waiting.
#pragma once

#include <stdexcept>
#include <string>

namespace tilt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tilt
