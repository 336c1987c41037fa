// The trainer: rollout -> objective -> gradient all-reduce -> Adam step, with metrics, progress,
// checkpoints (train/checkpoint.h), signals and the final evaluation. It drives a Job and knows no
// objective in detail; the run directory's policy lives in train/run_directory.h.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"
#include "train/run_directory.h"

namespace tilt {

struct TrainOptions {
  std::filesystem::path run_dir;
  StartMode start = StartMode::kFresh;
  bool quiet = false;  // no progress output (tests)
};

// What ended a call to train().
enum class TrainOutcome {
  kFinished,     // all iterations done and evaluated
  kStopped,      // SIGTERM or SIGUSR1: checkpointed, to be requeued (exit kExitStopped)
  kInterrupted,  // SIGINT: checkpointed (exit kExitInterrupted)
};

struct TrainResult {
  TrainOutcome outcome = TrainOutcome::kFinished;
  std::vector<std::pair<std::string, double>> metrics;  // the final evaluation, when finished
};

// Trains `config` into options.run_dir. Rank 0 also writes the evaluation to eval.json.
TrainResult train(const Config& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt
