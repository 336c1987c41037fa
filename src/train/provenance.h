// Where a run's files came from: the resolved config's hash, seed, rank and node layout, code
// revision (and whether the tree was dirty), library versions, host names and Slurm ids. Written as
// the run directory's provenance.yaml (one entry per session: a resumed run appends one, so a
// rank-count change is on record) and as attributes of every HDF5 file the run writes.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "dist/communicator.h"

namespace tilt {

namespace io {
class H5File;
}

struct Provenance {
  std::vector<std::pair<std::string, std::string>> fields;  // in a fixed, readable order
  const std::string& get(const std::string& key) const;     // throws if absent
};

// 16 hex digits of FNV-1a (64 bit) over the resolved config's YAML: equal hashes, equal configs.
std::string config_hash(const Config& config);

// This session's provenance. Collective: every rank must call it (host names are gathered);
// the result is complete on rank 0.
Provenance collect_provenance(const Config& config, int start_step, Communicator& comm);

// Writes run_dir/provenance.yaml atomically: the run's config hash and seed, then `sessions`, the
// earlier sessions already in the file (when resuming) followed by this one.
void record_session(const std::filesystem::path& run_dir, const Provenance& session, bool resuming);

// Adds the fields as string attributes of the file's root group.
void stamp(io::H5File& file, const Provenance& provenance);

// One line for the start of a run: ranks, nodes, device, threads per rank.
std::string layout_line(const Provenance& provenance);

}  // namespace tilt
