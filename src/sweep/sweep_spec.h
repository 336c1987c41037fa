// A sweep: one base config run over a grid of config values, explicit rows and seeds. The spec is
// a YAML file (configs/sweeps/, documented in docs/cluster.md#sweeps); expand() turns it into numbered rows,
// each a list of `--set` overrides that reach `tilt train` as separate arguments (never through a
// shell).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tilt::sweep {

// key -> YAML value text, in a fixed order ("train.lr" -> "0.001", "reward.y" -> "[3, 3]").
using Params = std::vector<std::pair<std::string, std::string>>;

struct SlurmResources {
  std::string partition;      // empty: the cluster's default
  std::string time = "01:00:00";
  int cpus_per_task = 1;
  std::string mem;            // e.g. "4G"; empty: the cluster's default
  int gpus_per_task = 0;
  int throttle = 0;           // most array tasks running at once; 0: no limit
  std::vector<std::string> extra;  // more sbatch options, one argument each
};

struct SweepSpec {
  std::string name;
  std::filesystem::path config;          // base config (absolute)
  Params fixed;                          // `set`: overrides of every row
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;  // key -> values
  std::vector<Params> rows;              // explicit rows (each combined with every seed)
  std::vector<uint64_t> seeds;           // empty: the config's seed
  int ranks = 1;                         // MPI ranks per row
  SlurmResources slurm;
};

struct SweepRow {
  int index = 0;
  Params params;                       // what varies: grid keys, explicit-row keys, seed
  std::vector<std::string> overrides;  // `set`, then params, as "key=value" for `tilt train --set`
};

// Reads and validates a sweep file (unknown keys, types, ranges); paths resolve against its folder.
SweepSpec load_sweep_spec(const std::filesystem::path& path);

// Rows in a fixed order: (grid product, then explicit rows) x seeds. Fixed overrides come first in
// each row's overrides, so a grid or row value wins over `set`.
std::vector<SweepRow> expand(const SweepSpec& spec);

// The keys that vary over the rows, in order of first appearance.
std::vector<std::string> swept_keys(const std::vector<SweepRow>& rows);

}  // namespace tilt::sweep
