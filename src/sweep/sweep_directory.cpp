#include "sweep/sweep_directory.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/run_files.h"

namespace tilt::sweep {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kManifest = "manifest.json";

ordered_json manifest_json(const SweepSpec& spec, const std::vector<SweepRow>& rows) {
  ordered_json out;
  out["name"] = spec.name;
  out["config"] = spec.config.string();
  out["keys"] = swept_keys(rows);
  out["ranks"] = spec.ranks;
  const SlurmResources& s = spec.slurm;
  out["slurm"] = {{"partition", s.partition}, {"time", s.time}, {"cpus_per_task", s.cpus_per_task},
                  {"mem", s.mem}, {"gpus_per_task", s.gpus_per_task}, {"throttle", s.throttle},
                  {"extra", s.extra}};
  out["rows"] = ordered_json::array();
  for (const auto& row : rows) {
    ordered_json params = ordered_json::object();
    for (const auto& [key, value] : row.params) params[key] = value;
    out["rows"].push_back({{"index", row.index},
                           {"run_dir", "rows/" + row_name(row.index)},
                           {"params", params},
                           {"overrides", row.overrides}});
  }
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string row_name(int index) {
  char name[16];
  std::snprintf(name, sizeof name, "%03d", index);
  return name;
}

SweepDirectory SweepDirectory::create(const fs::path& dir, const SweepSpec& spec, const fs::path& spec_file) {
  const ordered_json manifest = manifest_json(spec, expand(spec));
  if (fs::exists(dir / kManifest)) {
    // A re-run: the rows must be the same ones (their resources may change).
    const ordered_json existing = ordered_json::parse(read_text(dir / kManifest));
    if (existing["rows"] != manifest["rows"] || existing["config"] != manifest["config"])
      throw Error("sweep directory '" + dir.string() +
                  "' holds a different sweep (other rows or base config): choose another --out");
  }
  std::error_code error;
  for (const char* sub : {"rows", "status", "logs"}) {
    fs::create_directories(dir / sub, error);
    if (error) throw Error("cannot create sweep directory '" + (dir / sub).string() + "': " + error.message());
  }
  io::write_text_atomically(dir / "sweep.yaml", read_text(spec_file));
  io::write_text_atomically(dir / kManifest, manifest.dump(2) + "\n");
  return open(dir);
}

SweepDirectory SweepDirectory::open(const fs::path& dir) {
  if (!fs::exists(dir / kManifest)) throw Error("'" + dir.string() + "' is not a sweep directory (no manifest.json)");
  SweepDirectory sweep;
  sweep.dir_ = dir;
  try {
    const ordered_json manifest = ordered_json::parse(read_text(dir / kManifest));
    sweep.name_ = manifest.at("name").get<std::string>();
    sweep.config_ = manifest.at("config").get<std::string>();
    sweep.ranks_ = manifest.at("ranks").get<int>();
    const ordered_json& s = manifest.at("slurm");
    sweep.slurm_ = {s.at("partition"), s.at("time"), s.at("cpus_per_task"), s.at("mem"),
                    s.at("gpus_per_task"), s.at("throttle"), s.at("extra").get<std::vector<std::string>>()};
    for (const auto& row : manifest.at("rows")) {
      ManifestRow entry;
      entry.index = row.at("index").get<int>();
      for (const auto& [key, value] : row.at("params").items()) entry.params.emplace_back(key, value.get<std::string>());
      entry.overrides = row.at("overrides").get<std::vector<std::string>>();
      sweep.rows_.push_back(entry);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error((dir / kManifest).string() + ": not a tilt sweep manifest (" + e.what() + ")");
  }
  return sweep;
}

const ManifestRow& SweepDirectory::row(int index) const {
  if (index < 0 || index >= static_cast<int>(rows_.size()))
    throw Error("sweep '" + name_ + "' has rows 0.." + std::to_string(rows_.size() - 1) + ", not " +
                std::to_string(index));
  return rows_[index];
}

fs::path SweepDirectory::run_dir(int index) const { return dir_ / "rows" / row_name(index); }
fs::path SweepDirectory::log_path(int index) const { return dir_ / "logs" / (row_name(index) + ".log"); }

RowStatus SweepDirectory::status(int index) const {
  RowStatus status;
  const fs::path file = dir_ / "status" / (row_name(index) + ".json");
  if (fs::exists(file)) {
    try {
      const ordered_json json = ordered_json::parse(read_text(file));
      status.state = json.at("state");
      if (!json.at("exit_code").is_null()) status.exit_code = json.at("exit_code").get<int>();
      status.attempts = json.at("attempts");
      status.host = json.at("host");
      status.pid = json.at("pid");
      status.slurm_job = json.at("slurm_job");
    } catch (const nlohmann::json::exception& e) {
      throw Error(file.string() + ": not a row status (" + e.what() + ")");
    }
  }
  if (fs::exists(run_dir(index) / run_files::kEval)) status.state = "finished";
  return status;
}

void SweepDirectory::set_status(int index, const RowStatus& status) const {
  ordered_json json;
  json["state"] = status.state;
  json["exit_code"] = status.exit_code ? ordered_json(*status.exit_code) : ordered_json(nullptr);
  json["attempts"] = status.attempts;
  json["host"] = status.host;
  json["pid"] = status.pid;
  json["slurm_job"] = status.slurm_job;
  io::write_text_atomically(dir_ / "status" / (row_name(index) + ".json"), json.dump() + "\n");
}

}  // namespace tilt::sweep
