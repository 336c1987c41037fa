// The files of a run directory, named in one place: the trainer, the CLI, the config layer (which
// reads a neural prior's run directory), the sweep runner and the tests write and read these names.
// Every one of them is written atomically (io/atomic_file.h).
#pragma once

namespace tilt::run_files {

inline constexpr const char* kConfig = "config.yaml";          // the resolved config
inline constexpr const char* kProvenance = "provenance.yaml";  // who ran it, with what, where
inline constexpr const char* kCheckpoint = "checkpoint.h5";    // the latest complete checkpoint
inline constexpr const char* kMetricsCsv = "metrics.csv";
inline constexpr const char* kMetricsH5 = "metrics.h5";
inline constexpr const char* kSamples = "samples.h5";          // final samples (+ exact density grid)
inline constexpr const char* kEval = "eval.json";              // final metrics: present = finished
inline constexpr const char* kLock = ".lock";                  // flock(2)ed by the rank 0 training into it

}  // namespace tilt::run_files
