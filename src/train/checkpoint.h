// The checkpoint schema: one HDF5 file (run_files::kCheckpoint) from which a run continues bit for
// bit. Each component writes and reads its own part:
//   /parameters/...        Job: network parameters and log Z
//   /rng/seed, /rng/iteration
//                          Job: the counter-based noise needs only (seed, iteration)
//   /optimizer/...         Adam: moments and step count
//   /metrics, /timing      the training tables up to the checkpoint's step
//   /step, /meta/config, /meta/version, /meta/ranks
// and every file carries the session's provenance as attributes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "core/config.h"
#include "io/metrics_table.h"
#include "train/adam.h"
#include "train/job.h"
#include "train/provenance.h"

namespace tilt {

struct TrainingTables {
  io::MetricsTable metrics;  // deterministic: equal on any rank count and across resumes
  io::MetricsTable timing;   // wall-clock: speed and elapsed time
};

void save_checkpoint(const std::filesystem::path& path, const Job& job, const Adam& adam, int step,
                     const TrainingTables& tables, const Provenance& provenance);

// Restores parameters, optimiser state and tables (cut at the checkpoint's step); returns the step.
int load_checkpoint(const std::filesystem::path& path, Job& job, Adam& adam, TrainingTables& tables);

// The checkpoint of a method with its own training loop (DxMI, multivariate diffusions), written by
// rank 0: /step, /meta/ranks, /meta/config, the method's state (`write_state`: its parameters and
// optimisers), /metrics and /timing; then metrics.h5 and metrics.csv beside it.
void save_method_checkpoint(const std::filesystem::path& run_dir, int step, int ranks,
                            const std::string& resolved_config, const TrainingTables& tables,
                            const std::function<void(io::H5File&)>& write_state);
// Reads one back: the method's state (`read_state`) and the tables cut at its step; returns the step.
int load_method_checkpoint(const std::filesystem::path& run_dir, TrainingTables& tables,
                           const std::function<void(const io::H5File&)>& read_state);
// Throws one line naming the first difference when `config` cannot continue the checkpoint's run:
// any change but train.iterations, train.exploration.decay_until, train.checkpoint_every,
// train.log_every and eval would silently change what the run computes. The rank count may change.
void check_resumable(const std::filesystem::path& path, const Config& config);

// The rank count the checkpoint was written on.
int checkpoint_ranks(const std::filesystem::path& path);

// "/parameters/<name>" of a checkpoint: written from each parameter, and read into each parameter
// (a shape that differs from the config's is refused).
void write_parameters(io::H5File& file, const std::vector<NamedTensor>& parameters);
void read_parameters(const io::H5File& file, const std::vector<NamedTensor>& parameters);

}  // namespace tilt
