#include "sweep/sweep_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "core/error.h"

namespace tilt::sweep {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& key, const std::string& what) {
  throw Error(file.string() + ": sweep: '" + key + "': " + what);
}

// A YAML value as the text `--set` parses back to the same value: flow style, quoted where needed.
std::string yaml_text(const YAML::Node& value) {
  YAML::Emitter out;
  out.SetSeqFormat(YAML::Flow);
  out.SetMapFormat(YAML::Flow);
  out << value;
  return out.c_str();
}

Params read_params(const YAML::Node& node, const std::filesystem::path& file, const std::string& key) {
  if (!node.IsMap()) fail(file, key, "expected a mapping of config keys to values");
  Params params;
  for (const auto& entry : node) {
    const auto name = entry.first.as<std::string>();
    if (name == "seed") fail(file, key + "." + name, "seeds go in the sweep's `seeds` list");
    if (!entry.second.IsDefined() || entry.second.IsNull()) fail(file, key + "." + name, "has no value");
    params.emplace_back(name, yaml_text(entry.second));
  }
  return params;
}

}  // namespace

SweepSpec load_sweep_spec(const std::filesystem::path& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    throw Error("sweep: cannot read '" + path.string() + "'");
  } catch (const YAML::Exception& e) {
    throw Error(path.string() + ": sweep: not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (!root.IsMap()) fail(path, "", "expected a mapping");
  static const std::set<std::string> known = {"name", "config", "set", "grid", "rows", "seeds", "ranks", "slurm"};
  for (const auto& entry : root)
    if (!known.count(entry.first.as<std::string>())) fail(path, entry.first.as<std::string>(), "unknown key");

  SweepSpec spec;
  try {
    if (!root["name"]) fail(path, "name", "required key is missing");
    spec.name = root["name"].as<std::string>();
    if (spec.name.empty() || spec.name.find_first_of("/\\ ") != std::string::npos)
      fail(path, "name", "must be a non-empty name without slashes or spaces (it names the sweep directory)");
    if (!root["config"]) fail(path, "config", "required key is missing");
    spec.config = root["config"].as<std::string>();
    if (spec.config.is_relative()) spec.config = path.parent_path() / spec.config;
    spec.config = std::filesystem::absolute(spec.config).lexically_normal();
    if (!std::filesystem::exists(spec.config)) fail(path, "config", "no such file: " + spec.config.string());
    if (root["set"]) spec.fixed = read_params(root["set"], path, "set");
    if (const YAML::Node grid = root["grid"]) {
      if (!grid.IsMap()) fail(path, "grid", "expected a mapping of config keys to lists of values");
      for (const auto& entry : grid) {
        const auto key = entry.first.as<std::string>();
        if (key == "seed") fail(path, "grid.seed", "seeds go in the sweep's `seeds` list");
        if (!entry.second.IsSequence() || entry.second.size() == 0)
          fail(path, "grid." + key, "expected a non-empty list of values");
        std::vector<std::string> values;
        for (const auto& value : entry.second) values.push_back(yaml_text(value));
        spec.grid.emplace_back(key, values);
      }
    }
    if (const YAML::Node rows = root["rows"]) {
      if (!rows.IsSequence()) fail(path, "rows", "expected a list of mappings");
      for (size_t i = 0; i < rows.size(); ++i)
        spec.rows.push_back(rows[i].IsNull() ? Params{} : read_params(rows[i], path, "rows[" + std::to_string(i) + "]"));
    }
    if (const YAML::Node seeds = root["seeds"]) {
      if (!seeds.IsSequence() || seeds.size() == 0) fail(path, "seeds", "expected a non-empty list of integers");
      for (const auto& seed : seeds) spec.seeds.push_back(seed.as<uint64_t>());
      if (std::set<uint64_t>(spec.seeds.begin(), spec.seeds.end()).size() != spec.seeds.size())
        fail(path, "seeds", "a seed is repeated");
    }
    spec.ranks = root["ranks"] ? root["ranks"].as<int>() : 1;
    if (spec.ranks < 1) fail(path, "ranks", "must be >= 1");
    if (const YAML::Node slurm = root["slurm"]) {
      static const std::set<std::string> slurm_keys = {"partition", "time", "cpus_per_task", "mem",
                                                       "gpus_per_task", "throttle", "extra"};
      for (const auto& entry : slurm)
        if (!slurm_keys.count(entry.first.as<std::string>()))
          fail(path, "slurm." + entry.first.as<std::string>(), "unknown key");
      SlurmResources& s = spec.slurm;
      if (slurm["partition"]) s.partition = slurm["partition"].as<std::string>();
      if (slurm["time"]) s.time = slurm["time"].as<std::string>();
      if (slurm["cpus_per_task"]) s.cpus_per_task = slurm["cpus_per_task"].as<int>();
      if (s.cpus_per_task < 1) fail(path, "slurm.cpus_per_task", "must be >= 1");
      if (slurm["mem"]) s.mem = slurm["mem"].as<std::string>();
      if (slurm["gpus_per_task"]) s.gpus_per_task = slurm["gpus_per_task"].as<int>();
      if (s.gpus_per_task < 0) fail(path, "slurm.gpus_per_task", "must be >= 0");
      if (slurm["throttle"]) s.throttle = slurm["throttle"].as<int>();
      if (s.throttle < 0) fail(path, "slurm.throttle", "must be >= 0");
      if (slurm["extra"]) s.extra = slurm["extra"].as<std::vector<std::string>>();
    }
  } catch (const YAML::Exception& e) {
    throw Error(path.string() + ": sweep: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  return spec;
}

std::vector<SweepRow> expand(const SweepSpec& spec) {
  std::vector<Params> points{{}};
  for (const auto& [key, values] : spec.grid) {
    std::vector<Params> next;
    for (const auto& point : points)
      for (const auto& value : values) {
        Params extended = point;
        extended.emplace_back(key, value);
        next.push_back(extended);
      }
    points = next;
  }
  if (!spec.rows.empty()) {
    // Explicit rows replace the single empty point of an absent grid, and follow a present one.
    if (spec.grid.empty()) points.clear();
    points.insert(points.end(), spec.rows.begin(), spec.rows.end());
  }
  std::vector<SweepRow> rows;
  for (const auto& point : points) {
    const std::vector<std::optional<uint64_t>> seeds =
        spec.seeds.empty() ? std::vector<std::optional<uint64_t>>{std::nullopt}
                           : std::vector<std::optional<uint64_t>>(spec.seeds.begin(), spec.seeds.end());
    for (const auto& seed : seeds) {
      SweepRow row;
      row.index = static_cast<int>(rows.size());
      row.params = point;
      if (seed) row.params.emplace_back("seed", std::to_string(*seed));
      for (const Params* part : std::initializer_list<const Params*>{&spec.fixed, &row.params})
        for (const auto& [key, value] : *part) row.overrides.push_back(key + "=" + value);
      rows.push_back(row);
    }
  }
  return rows;
}

std::vector<std::string> swept_keys(const std::vector<SweepRow>& rows) {
  std::vector<std::string> keys;
  for (const auto& row : rows)
    for (const auto& [key, _] : row.params)
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  return keys;
}

}  // namespace tilt::sweep
