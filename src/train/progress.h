// Progress on rank 0: a bar redrawn in place on a terminal, plain lines in a log file.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace tilt {

class Progress {
 public:
  Progress(int first_iteration, int total_iterations, bool enabled);
  // Called every iteration; prints at most a few times a second on a terminal, every `line_every`
  // iterations otherwise.
  // log_z: printed when the method estimates one.
  void update(int iteration, double loss, std::optional<double> log_z, int line_every);
  void finish();
  double iterations_per_second() const;

 private:
  int first_, total_;
  bool enabled_, terminal_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int last_iteration_;
};

}  // namespace tilt
