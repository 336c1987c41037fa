#include "train/run_control.h"

#include <atomic>

namespace tilt {
namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }

}  // namespace

StopSignals::StopSignals() {
  g_stop_signal = 0;
  for (int signal : kSignals) previous_.push_back(std::signal(signal, on_stop_signal));
}

StopSignals::~StopSignals() {
  for (size_t i = 0; i < kSignals.size(); ++i) std::signal(kSignals[i], previous_[i]);
}

int StopSignals::received() { return g_stop_signal.load(); }

int agreed_stop_signal(Communicator& comm) {
  const int received = StopSignals::received();
  double flags[2] = {received != 0 ? 1.0 : 0.0, received == SIGINT ? 1.0 : 0.0};
  comm.all_reduce_sum(flags, 2);
  if (flags[0] == 0) return 0;
  return flags[1] > 0 ? SIGINT : (received != 0 ? received : SIGUSR1);
}

}  // namespace tilt
