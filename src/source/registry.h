// The trajectory sources a config can name (`source: {kind: ...}`; by default on_policy, or data for
// objectives that learn from data). Adding a source is its own file(s) and one line in
// source_kinds() (source/registry.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_section.h"

namespace tilt {

class TrajectorySource;
struct SourceContext;

struct SourceKind {
  const char* name;
  bool trains_on_data;  // for data objectives (which need exact samples of the target) only
  // Reads and validates the section's keys (all but `kind`) and writes them back with every default.
  void (*resolve)(ConfigSection& section, YAML::Node& resolved);
  std::unique_ptr<TrajectorySource> (*make)(const YAML::Node& resolved, const Config& config,
                                            const SourceContext& context);
};

const std::vector<SourceKind>& source_kinds();
const SourceKind& find_source_kind(const std::string& name, const std::string& key);

// The source a config trains from.
std::unique_ptr<TrajectorySource> make_source(const Config& config, const SourceContext& context);

}  // namespace tilt
