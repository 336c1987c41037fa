// The trainer: rollout -> objective -> gradient all-reduce -> Adam step, with metrics, progress,
// checkpoints (atomic HDF5, resumable bit for bit), signals and the final evaluation. It drives a
// Job and knows no objective in detail.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/run_files.h"
#include "dist/communicator.h"

namespace tilt {

struct TrainOptions {
  std::filesystem::path run_dir;
  bool resume = false;
  bool quiet = false;  // no progress output (tests)
};

// Trains `config` into options.run_dir. A fresh run refuses an existing run directory that has a
// checkpoint; a resumed run continues from the directory's checkpoint. Returns the final
// evaluation's metrics (rank 0 also writes them to eval.json).
std::vector<std::pair<std::string, double>> train(const Config& config, const TrainOptions& options,
                                                  Communicator& comm);

// Gives this rank's cores to LibTorch's intra-op threads (and one thread to OpenBLAS's own pool).
void configure_threads(const Communicator& comm);

}  // namespace tilt

namespace tilt {

class Job;

// Writes samples (row-major N x D) as dataset /samples (float32) with the run's config beside it.
void write_samples(const std::filesystem::path& path, const std::vector<float>& samples, int dim,
                   const Config& config);
// A PNG of 2-D samples over the exact density of the job's target (skipped with a note for D != 2).
void write_samples_png(const std::filesystem::path& path, const Job& job, const std::vector<float>& samples);
// JSON object {"name": value, ...} on one line.
std::string metrics_json(const std::vector<std::pair<std::string, double>>& metrics);

}  // namespace tilt
