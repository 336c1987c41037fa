// What the methods with their own training loops (DxMI, multivariate diffusions, tensor networks)
// share: the run directory's preparation, and the iteration loop: a stop signal agreed by every rank before
// each iteration, progress on rank 0, a metrics row (the loss under its name) and a timing row every
// log_every iterations and at the end, a checkpoint every checkpoint_every iterations, at the end and on a
// stop, and one at step 0 for a run of no iterations (so that it can be resumed to more).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.h"
#include "train/checkpoint.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace tilt {

// A method run's directory: rank 0 locks it (held while this lives) and prepares it
// (prepare_run_directory with the resolved config and the method's resume check), and every rank
// learns whether the run resumes from a checkpoint.
class PreparedRunDirectory {
 public:
  PreparedRunDirectory(const TrainOptions& options, const std::string& resolved_config, Communicator& comm,
                       const std::function<void(const std::filesystem::path& checkpoint)>& check_resumable);
  bool resuming() const { return resuming_; }

 private:
  std::optional<RunDirectoryLock> lock_;
  bool resuming_ = false;
};

struct IterationSchedule {
  int iterations = 0, log_every = 1, checkpoint_every = 1;
};

// Rank 0's last step of every training loop: eval.json from `metrics` (its presence marks the run
// finished), and the metrics printed when verbose.
void write_final_metrics(const std::filesystem::path& run_dir,
                         const std::vector<std::pair<std::string, double>>& metrics, bool verbose);

// Runs iterations start..iterations - 1: `step(i)` takes iteration i and returns its loss (equal on
// every rank), `save(done)` writes the checkpoint after `done` iterations (on every rank: it does
// its own rank-0 work). Returns kFinished, or after a stop (the checkpoint saved, the user told how
// to resume) kInterrupted for SIGINT and kStopped otherwise.
TrainOutcome run_iterations(int start, const IterationSchedule& schedule, const std::string& loss_name,
                            TrainingTables& tables, const std::filesystem::path& run_dir, bool verbose,
                            Communicator& comm, const std::function<double(int)>& step,
                            const std::function<void(int)>& save);

}  // namespace tilt
