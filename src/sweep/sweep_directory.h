// A sweep directory: the manifest of its rows, one run directory per row, each row's status and log.
//
//   SWEEP_DIR/sweep.yaml         the spec as given (a copy)
//   SWEEP_DIR/manifest.json      name, base config, swept keys, ranks, Slurm resources, rows
//   SWEEP_DIR/rows/NNN/          row NNN's run directory (config.yaml ... eval.json)
//   SWEEP_DIR/status/NNN.json    {"state", "exit_code", "attempts", "host", "pid", "slurm_job"}
//                                (state: pending, submitted, running, finished, failed, preempted,
//                                interrupted)
//   SWEEP_DIR/logs/NNN.log       output of every attempt of row NNN
//
// A row is finished exactly when its run directory has eval.json; otherwise its status file says
// what else happened to it (no file: pending).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sweep/sweep_spec.h"

namespace tilt::sweep {

struct ManifestRow {
  int index = 0;
  Params params;
  std::vector<std::string> overrides;
};

struct RowStatus {
  // pending, submitted (to Slurm), running, finished, failed, preempted (75), interrupted (130)
  std::string state = "pending";
  std::optional<int> exit_code;
  int attempts = 0;
  std::string host;
  long pid = 0;
  std::string slurm_job;  // "<array job>_<task>" under Slurm
};

class SweepDirectory {
 public:
  // Creates the directory for `spec`, or reopens one made for the same rows (a re-run); refuses a
  // directory holding a different sweep.
  static SweepDirectory create(const std::filesystem::path& dir, const SweepSpec& spec,
                               const std::filesystem::path& spec_file);
  static SweepDirectory open(const std::filesystem::path& dir);

  const std::filesystem::path& path() const { return dir_; }
  const std::string& name() const { return name_; }
  const std::filesystem::path& config() const { return config_; }
  int ranks() const { return ranks_; }
  const SlurmResources& slurm() const { return slurm_; }
  const std::vector<ManifestRow>& rows() const { return rows_; }
  const ManifestRow& row(int index) const;

  std::filesystem::path run_dir(int index) const;
  std::filesystem::path log_path(int index) const;
  RowStatus status(int index) const;
  void set_status(int index, const RowStatus& status) const;

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::filesystem::path config_;
  int ranks_ = 1;
  SlurmResources slurm_;
  std::vector<ManifestRow> rows_;
};

// "000", "001", ...: row names sort in row order.
std::string row_name(int index);

}  // namespace tilt::sweep
