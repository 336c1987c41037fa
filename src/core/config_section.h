// Reading and writing one section of a YAML config. The config parser and every component (an
// objective, a target) use the same reader, so that a component parses, validates and writes back
// its own section: every key known (an unknown key is an error naming it), every value checked for
// type, range and finiteness, every default written out in the resolved config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace tilt {

[[noreturn]] inline void config_fail(const std::string& key, const std::string& what) {
  throw Error("config: '" + key + "': " + what);
}

// Non-finite numbers (.inf, .nan) are never meaningful in a config: rejected wherever a number is read.
template <typename T>
void require_finite(const T& value, const std::string& key) {
  if constexpr (std::is_same_v<T, double>) {
    if (!std::isfinite(value)) config_fail(key, "must be a finite number, got " + std::to_string(value));
  } else if constexpr (std::is_same_v<T, std::vector<double>> ||
                       std::is_same_v<T, std::vector<std::vector<double>>>) {
    for (const auto& element : value) require_finite(element, key);
  }
}

void require_positive(double value, const std::string& key);
void require_at_least(long long value, long long minimum, const std::string& key);
void require_in_range(double value, double low, double high, const std::string& key);

// A YAML mapping being read: records which keys were consumed so that finish() can reject the rest.
class ConfigSection {
 public:
  // Relative paths in the section resolve against base_dir (the config file's folder).
  ConfigSection(YAML::Node node, std::string path, std::filesystem::path base_dir = {});

  // A key set to null (e.g. `--set prior.mixture=null`) counts as absent.
  bool has(const std::string& key) const {
    return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
  }
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& path() const { return path_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  // Marks a key as read without reading it (e.g. `kind`, which the parser dispatched on).
  void skip(const std::string& key) { used_.insert(key); }

  ConfigSection section(const std::string& key) {
    used_.insert(key);
    return ConfigSection(has(key) ? node_[key] : YAML::Node(), key_path(key), base_dir_);
  }
  // A path-valued key, made absolute against base_dir; it must exist.
  std::filesystem::path require_existing_path(const std::string& key);
  YAML::Node raw(const std::string& key) {
    used_.insert(key);
    return has(key) ? node_[key] : YAML::Node();
  }
  template <typename T>
  T get(const std::string& key, const T& fallback) {
    used_.insert(key);
    return has(key) ? convert<T>(node_[key], key_path(key)) : fallback;
  }
  template <typename T>
  T require(const std::string& key) {
    used_.insert(key);
    if (!has(key)) config_fail(key_path(key), "required key is missing");
    return convert<T>(node_[key], key_path(key));
  }
  void finish() const;

  template <typename T>
  static T convert(const YAML::Node& value, const std::string& where) {
    try {
      if constexpr (std::is_same_v<T, std::vector<double>> ||
                    std::is_same_v<T, std::vector<std::vector<double>>>) {
        if (!value.IsSequence()) config_fail(where, "expected a list");
      } else {
        if (!value.IsScalar()) config_fail(where, "expected a single value");
      }
      T result = value.as<T>();
      require_finite(result, where);
      return result;
    } catch (const YAML::Exception&) {
      std::ostringstream shown;
      shown << value;
      config_fail(where, "cannot read '" + shown.str() + "' as " + type_name<T>());
    }
  }

 private:
  template <typename T>
  static std::string type_name() {
    if constexpr (std::is_same_v<T, int> || std::is_same_v<T, uint64_t>) return "an integer";
    if constexpr (std::is_same_v<T, double>) return "a number";
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    if constexpr (std::is_same_v<T, bool>) return "true/false";
    if constexpr (std::is_same_v<T, std::vector<double>>) return "a list of numbers";
    return "a list of lists of numbers";
  }

  YAML::Node node_;
  std::string path_;
  std::filesystem::path base_dir_;
  std::set<std::string> used_;
};

template <typename Enum>
Enum parse_choice(const std::string& value, const std::map<std::string, Enum>& choices,
                  const std::string& key) {
  const auto found = choices.find(value);
  if (found != choices.end()) return found->second;
  std::string names;
  for (const auto& [name, _] : choices) names += (names.empty() ? "" : ", ") + name;
  config_fail(key, "unknown value '" + value + "' (choose one of: " + names + ")");
}

// The shortest text that reads back as exactly `value` (0.04, not 0.040000000000000001), with a
// point in the mantissa (1.0e-05): YAML 1.1 readers such as PyYAML take 1e-05 for a string.
YAML::Node yaml_number(double value);
// Lists written inline ([1, 2]) so that the resolved config stays readable.
YAML::Node yaml_flow(const std::vector<double>& values);
YAML::Node yaml_flow(const std::vector<std::vector<double>>& rows);

// The entry named `name` of a registry (a vector of kinds with a `name` member), or a config error
// naming `key` and every known kind.
template <typename Kind>
const Kind& find_kind(const std::vector<Kind>& kinds, const std::string& name, const std::string& key,
                      const std::string& what) {
  std::string names;
  for (const auto& kind : kinds) {
    if (name == kind.name) return kind;
    names += (names.empty() ? "" : ", ") + std::string(kind.name);
  }
  config_fail(key, "unknown " + what + " '" + name + "' (choose one of: " + names + ")");
}

// A component's options as a type with `static Options read(ConfigSection&)` and
// `void write(YAML::Node&) const`: resolving = reading, validating and writing back every default.
template <typename Options>
void resolve_options(ConfigSection& section, YAML::Node& resolved) {
  Options::read(section).write(resolved);
}
// The options of a component that has none.
struct NoOptions {
  static NoOptions read(ConfigSection&) { return {}; }
  void write(YAML::Node&) const {}
};

// Reads options back from a resolved section (already validated).
template <typename Options>
Options read_options(const YAML::Node& resolved, const std::string& path) {
  ConfigSection section(resolved, path);
  section.skip("kind");
  Options options = Options::read(section);
  section.finish();
  return options;
}

}  // namespace tilt
