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

}  // namespace tilt
