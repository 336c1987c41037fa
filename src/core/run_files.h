// The files of a run directory. Kept in core because the config layer reads a prior's run directory
// and the trainer, CLI and tests write and read the same names.
#pragma once

namespace tilt::run_files {

inline constexpr const char* kConfig = "config.yaml";
inline constexpr const char* kCheckpoint = "checkpoint.h5";
inline constexpr const char* kMetricsCsv = "metrics.csv";
inline constexpr const char* kMetricsH5 = "metrics.h5";
inline constexpr const char* kSamples = "samples.h5";
inline constexpr const char* kSamplesPng = "samples.png";
inline constexpr const char* kEval = "eval.json";

}  // namespace tilt::run_files
