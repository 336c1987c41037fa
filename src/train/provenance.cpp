#include "train/provenance.h"

#include <hdf5.h>
#include <torch/version.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <set>

#include "core/build_info.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/run_files.h"

namespace tilt {
namespace {

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

const std::string& Provenance::get(const std::string& key) const {
  for (const auto& [name, value] : fields)
    if (name == key) return value;
  throw Error("provenance has no field '" + key + "'");
}

std::string config_hash(const Config& config) {
  uint64_t hash = 14695981039346656037ull;
  for (const unsigned char c : to_yaml(config)) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

Provenance collect_provenance(const Config& config, int start_step, Communicator& comm) {
  const std::vector<std::string> hosts = comm.gather_strings(hostname(), 0);
  const std::set<std::string> nodes(hosts.begin(), hosts.end());
  std::string host_list;
  for (const auto& host : hosts) host_list += (host_list.empty() ? "" : ",") + host;

  Provenance p;
  auto add = [&](const std::string& key, const std::string& value) { p.fields.emplace_back(key, value); };
  add("config_hash", config_hash(config));
  add("seed", std::to_string(config.seed));
  add("started_at", utc_now());
  add("start_step", std::to_string(start_step));
  add("ranks", std::to_string(comm.size()));
  add("nodes", std::to_string(nodes.size()));
  add("hosts", host_list);
  add("device", "cpu");
  add("threads_per_rank", std::to_string(cores_per_rank(comm)));
  add("code_revision", build_info::kCodeRevision);
  add("code_dirty", build_info::kCodeDirty);
  add("tilt_version", TILT_VERSION);
  add("libtorch_version", TORCH_VERSION);
  add("mpi_version", mpi_library_version());
  add("hdf5_version", hdf5_version());
  for (const char* name :
       {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT"}) {
    std::string key = name;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    add(key, environment(name));
  }
  return p;
}

void record_session(const std::filesystem::path& run_dir, const Provenance& session, bool resuming) {
  const auto path = run_dir / run_files::kProvenance;
  YAML::Node sessions(YAML::NodeType::Sequence);
  if (resuming && std::filesystem::exists(path)) {
    try {
      const YAML::Node earlier = YAML::LoadFile(path.string())["sessions"];
      if (earlier && earlier.IsSequence())
        for (const auto& entry : earlier) sessions.push_back(entry);
    } catch (const YAML::Exception& e) {
      throw Error(path.string() + ": not valid YAML (" + e.msg + "); move it aside to resume");
    }
  }
  YAML::Node entry;
  for (const auto& [key, value] : session.fields) entry[key] = value;
  sessions.push_back(entry);
  YAML::Node root;
  root["config_hash"] = session.get("config_hash");
  root["seed"] = session.get("seed");
  root["sessions"] = sessions;
  YAML::Emitter out;
  out << root;
  io::write_text_atomically(path, std::string(out.c_str()) + "\n");
}

void stamp(io::H5File& file, const Provenance& provenance) {
  for (const auto& [key, value] : provenance.fields) file.set_attribute(key, value);
}

std::string layout_line(const Provenance& p) {
  return p.get("ranks") + " ranks on " + p.get("nodes") + " node(s) (" + p.get("hosts") + "), device " +
         p.get("device") + ", " + p.get("threads_per_rank") + " thread(s) per rank";
}

}  // namespace tilt
