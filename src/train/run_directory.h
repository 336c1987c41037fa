// A run directory's life cycle: which start a `tilt train` makes in it (fresh, replace, resume,
// auto-resume), and the final outputs written after evaluation. File names: io/run_files.h; every
// write is atomic (io/atomic_file.h).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "train/provenance.h"

namespace tilt {

class Job;

enum class StartMode {
  kFresh,       // refuse a directory that already holds a run
  kReplace,     // delete the run files a directory holds, then start fresh
  kResume,      // continue the checkpoint; refuse when there is none
  kAutoResume,  // continue the checkpoint when there is one, else start fresh (requeued jobs, sweeps)
};

// Rank 0 holds this for as long as it trains into a run directory: a second `tilt train` on the same
// directory (a sweep row resubmitted while it still runs, say) is refused instead of both writing.
// The lock is flock(2) on RUN_DIR/.lock, released by the kernel however the process ends.
class RunDirectoryLock {
 public:
  explicit RunDirectoryLock(const std::filesystem::path& dir);  // creates the directory if needed
  ~RunDirectoryLock();
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// Rank 0, holding the directory's RunDirectoryLock (which made the directory), before anything else
// is written: checks the directory against `mode` and `config` (a resumed checkpoint must be of the
// same run, train/checkpoint.h), removes a replaced run's files, writes the resolved config. Returns whether
// the run resumes from a checkpoint.
bool prepare_run_directory(const std::filesystem::path& dir, StartMode mode, const Config& config);
// The same for any training method: `resolved_config` is written as config.yaml, and
// `check_resumable` throws when the checkpoint cannot be continued under it.
bool prepare_run_directory(
    const std::filesystem::path& dir, StartMode mode, const std::string& resolved_config,
    const std::function<void(const std::filesystem::path& checkpoint)>& check_resumable);

// For check_resumable: throws one line naming the first line where the checkpoint's resolved config
// `stored` and this run's `current` differ; `may_change` lists what a resume may change.
void require_same_config(const std::filesystem::path& checkpoint, const std::string& stored,
                         const std::string& current, const std::string& may_change);

// samples.h5: /samples (N x D float32) and, for 2-D targets, the exact target's log density on a
// grid (/exact/x, /exact/y, /exact/log_density [ny, nx]) for plots; the config and provenance beside.
void write_samples(const std::filesystem::path& path, const std::vector<float>& samples, const Job& job,
                   const Provenance& provenance);

// JSON object {"name": value, ...} on one line; a value that is not finite is written as null.
std::string metrics_json(const std::vector<std::pair<std::string, double>>& metrics);

}  // namespace tilt
