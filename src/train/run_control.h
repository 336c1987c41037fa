// What every training loop (train/trainer.cpp, dxmi/train_dxmi.cpp) shares to stay in step across
// ranks: the stop signals a cluster sends, and running rank 0's file work so that its failure is
// every rank's.
#pragma once

#include <array>
#include <csignal>
#include <string>
#include <vector>

#include "core/error.h"
#include "dist/communicator.h"

namespace tilt {

// Installs handlers for SIGINT, SIGTERM and SIGUSR1 (what `sbatch --signal=B:USR1@90` forwards before
// a time limit or preemption) for the life of a training loop and restores the previous ones.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // The last signal received since construction, or 0.
  static int received();

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGUSR1};
  std::vector<void (*)(int)> previous_;
};

// Whether any rank received a stop signal (a collective: every rank stops at the same iteration):
// SIGINT when any rank got one, else this rank's signal, else SIGUSR1 (another rank's); 0 for none.
int agreed_stop_signal(Communicator& comm);

// Runs `action` on rank 0 and makes its failure every rank's: no rank may go on into a collective
// that rank 0 will never reach.
template <typename Action>
void on_root_for_all(Communicator& comm, const char* what, Action&& action) {
  int ok = 1;
  std::string failure;
  if (comm.is_root()) {
    try {
      action();
    } catch (const std::exception& e) {
      ok = 0;
      failure = e.what();
    }
  }
  comm.broadcast(&ok, sizeof(ok), 0);
  if (!ok) throw Error(comm.is_root() ? failure : std::string("rank 0 could not ") + what);
}

}  // namespace tilt
