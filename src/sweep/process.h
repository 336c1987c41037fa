// Child processes for the sweep runner and `tilt report`, started from argument vectors with
// posix_spawn: no shell ever parses an argument, so values with spaces, quotes or shell
// metacharacters arrive unchanged.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tilt {

// Starts argv[0] (looked up in PATH) with stdout and stderr appended to `log` (or inherited when
// `log` is empty) and stdin from /dev/null. Throws tilt::Error when it cannot start.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log = {});

// Waits for `pid`; returns its exit status, or 128 + signal when a signal ended it. A child of
// ForwardStopSignals stops receiving forwarded signals here.
int wait_for(pid_t pid);

// Runs argv to completion and returns its standard output (stderr inherited); `status` gets the
// exit status.
std::string run_capturing(const std::vector<std::string>& argv, int& status);

// Forwards SIGINT, SIGTERM and SIGUSR1 received by this process to the registered children (as
// SIGUSR1 for SIGTERM, the signal tilt checkpoints and requeues on) while an instance lives.
class ForwardStopSignals {
 public:
  ForwardStopSignals();
  ~ForwardStopSignals();
  ForwardStopSignals(const ForwardStopSignals&) = delete;
  ForwardStopSignals& operator=(const ForwardStopSignals&) = delete;
  // spawn(), then registers the child (a stop signal that arrived meanwhile is passed on to it);
  // wait_for() unregisters it before reaping it.
  static pid_t spawn_forwarded(const std::vector<std::string>& argv, const std::filesystem::path& log);
  static bool stop_requested();  // a signal arrived: start nothing new
};

}  // namespace tilt
