// The objectives a config can name (`objective: {kind: ...}`, or `objective: <kind>` for the
// defaults). Adding an objective is its own file(s) and one line in objective_kinds()
// (objective/registry.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_section.h"

namespace tilt {

class Objective;
struct ObjectiveContext;

struct ObjectiveKind {
  const char* name;
  Task task;           // what the config must provide: a target, or a prior and a reward, or data
  const char* source;  // the one source kind it trains from, or nullptr for any that fits its task
  // Reads and validates the section's keys (all but `kind`) and writes them back with every default.
  void (*resolve)(ConfigSection& section, YAML::Node& resolved);
  std::unique_ptr<Objective> (*make)(const YAML::Node& resolved, const ObjectiveContext& context);
};

const std::vector<ObjectiveKind>& objective_kinds();
// Throws a config error naming `key` and the known kinds when `name` is not one of them.
const ObjectiveKind& find_objective_kind(const std::string& name, const std::string& key);

}  // namespace tilt
