#include "train/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tilt {
namespace {

// A bar only on an interactive terminal of a direct launch: MPI launchers give ranks a pty even when
// the job's output goes to a log file. TILT_PROGRESS=bar|lines overrides the guess.
bool draw_bar() {
  if (const char* choice = std::getenv("TILT_PROGRESS")) return std::strcmp(choice, "bar") == 0;
  for (const char* launcher : {"OMPI_COMM_WORLD_SIZE", "PMI_RANK", "SLURM_PROCID"})
    if (std::getenv(launcher)) return false;
  return isatty(STDOUT_FILENO);
}

std::string format_duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof(text), "%dh%02dm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(text, sizeof(text), "%dm%02ds", s / 60, s % 60);
  return text;
}

}  // namespace

Progress::Progress(int first_iteration, int total_iterations, bool enabled)
    : first_(first_iteration),
      total_(total_iterations),
      enabled_(enabled),
      terminal_(enabled && draw_bar()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      last_iteration_(first_iteration) {}

double Progress::iterations_per_second() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? (last_iteration_ - first_) / elapsed : 0.0;
}

void Progress::update(int iteration, double loss, std::optional<double> log_z, int line_every) {
  last_iteration_ = iteration + 1;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool last = iteration + 1 == total_;
  if (terminal_ ? (!last && now - last_draw_ < std::chrono::milliseconds(200))
                : ((iteration + 1) % line_every != 0 && !last))
    return;
  last_draw_ = now;
  const double rate = iterations_per_second();
  const double eta = rate > 0 ? (total_ - iteration - 1) / rate : 0.0;
  const double fraction = total_ > 0 ? static_cast<double>(iteration + 1) / total_ : 1.0;
  char log_z_text[32] = "";
  if (log_z) std::snprintf(log_z_text, sizeof log_z_text, terminal_ ? " log Z %.4f" : "  log_z %.5f", *log_z);
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::printf("\r[%s%s] %d/%d loss %.4g%s %.1f it/s ETA %s  ", std::string(filled, '#').c_str(),
                std::string(kWidth - filled, '.').c_str(), iteration + 1, total_, loss, log_z_text, rate,
                format_duration(eta).c_str());
  } else {
    std::printf("iter %d/%d  loss %.5g%s  %.1f it/s  ETA %s\n", iteration + 1, total_, loss, log_z_text, rate,
                format_duration(eta).c_str());
  }
  std::fflush(stdout);
}

void Progress::finish() {
  if (terminal_) std::printf("\n");
  std::fflush(stdout);
}

}  // namespace tilt
