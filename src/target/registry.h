// The target kinds a config can name (`target: {kind: ...}`). Adding a target is its own file(s) and
// one line in target_kinds() (target/registry.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config_section.h"

namespace tilt {

class Target;

struct TargetKind {
  const char* name;
  bool exact_sampler;  // has a ground truth to draw from (what data objectives train on)
  // Reads and validates the section's keys (all but `kind`) and writes them back with every default.
  void (*resolve)(ConfigSection& section, YAML::Node& resolved);
  int (*dim)(const YAML::Node& resolved);
  std::unique_ptr<Target> (*make)(const YAML::Node& resolved);
};

const std::vector<TargetKind>& target_kinds();
// Throws a config error naming `key` and the known kinds when `name` is not one of them.
const TargetKind& find_target_kind(const std::string& name, const std::string& key);

}  // namespace tilt
