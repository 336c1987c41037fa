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

// Exit statuses of `tilt train` a launcher acts on. kExitStopped (EX_TEMPFAIL): stopped by
// SIGTERM or SIGUSR1 after writing a checkpoint; the Slurm templates requeue the job on it and the
// requeued job resumes where it stopped. kExitInterrupted: stopped by SIGINT (a person), also
// checkpointed, not requeued.
inline constexpr int kExitStopped = 75;
inline constexpr int kExitInterrupted = 130;

}  // namespace tilt
