#include "train/method_loop.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>

#include "io/atomic_file.h"
#include "io/run_files.h"
#include "train/progress.h"
#include "train/run_control.h"

namespace tilt {

PreparedRunDirectory::PreparedRunDirectory(
    const TrainOptions& options, const std::string& resolved_config, Communicator& comm,
    const std::function<void(const std::filesystem::path& checkpoint)>& check_resumable) {
  on_root_for_all(comm, "prepare the run directory", [&] {
    lock_.emplace(options.run_dir);
    resuming_ = prepare_run_directory(options.run_dir, options.start, resolved_config, check_resumable);
  });
  comm.broadcast(&resuming_, sizeof(resuming_), 0);
}

void write_final_metrics(const std::filesystem::path& run_dir,
                         const std::vector<std::pair<std::string, double>>& metrics, bool verbose) {
  io::write_text_atomically(run_dir / run_files::kEval, metrics_json(metrics) + "\n");
  if (!verbose) return;
  std::printf("final metrics (%s):\n", (run_dir / run_files::kEval).c_str());
  for (const auto& [name, value] : metrics) std::printf("  %-44s %.6g\n", name.c_str(), value);
}

TrainOutcome run_iterations(int start, const IterationSchedule& schedule, const std::string& loss_name,
                            TrainingTables& tables, const std::filesystem::path& run_dir, bool verbose,
                            Communicator& comm, const std::function<double(int)>& step,
                            const std::function<void(int)>& save) {
  Progress progress(start, schedule.iterations, verbose);
  const auto started = std::chrono::steady_clock::now();
  int iteration = start, stop_signal = 0;
  for (; iteration < schedule.iterations && stop_signal == 0; ++iteration) {
    stop_signal = agreed_stop_signal(comm);
    const double loss = step(iteration);
    progress.update(iteration, loss, std::nullopt, schedule.log_every);
    const int done = iteration + 1;
    if (done % schedule.log_every == 0 || done == schedule.iterations) {
      tables.metrics.append({{"step", done}, {loss_name, loss}});
      tables.timing.append(
          {{"step", done},
           {"iterations_per_s", progress.iterations_per_second()},
           {"elapsed_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    }
    if (done % schedule.checkpoint_every == 0 || done == schedule.iterations || stop_signal != 0) save(done);
  }
  progress.finish();
  if (iteration < schedule.iterations) {
    if (comm.is_root())
      std::printf(
          "tilt: stopped by signal %d at iteration %d; checkpoint saved (continue with --resume %s)\n",
          stop_signal, iteration, run_dir.c_str());
    return stop_signal == SIGINT ? TrainOutcome::kInterrupted : TrainOutcome::kStopped;
  }
  if (schedule.iterations == 0) save(0);
  return TrainOutcome::kFinished;
}

}  // namespace tilt
