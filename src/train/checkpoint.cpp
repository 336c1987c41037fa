#include "train/checkpoint.h"

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/run_files.h"

namespace tilt {

void save_checkpoint(const std::filesystem::path& path, const Job& job, const Adam& adam, int step,
                     const TrainingTables& tables, const Provenance& provenance) {
  io::write_atomically(path, [&](io::H5File& file) {
    job.save(file, step);
    adam.save(file, "/optimizer");
    tables.metrics.write_h5(file, "/metrics");
    tables.timing.write_h5(file, "/timing");
    file.write("/step", torch::tensor(static_cast<int64_t>(step), torch::kInt64));
    file.write_string("/meta/config", to_yaml(job.config()));
    file.write_string("/meta/version", TILT_VERSION);
    file.write("/meta/ranks",
               torch::tensor(static_cast<int64_t>(std::stoi(provenance.get("ranks"))), torch::kInt64));
    stamp(file, provenance);
  });
}

int load_checkpoint(const std::filesystem::path& path, Job& job, Adam& adam, TrainingTables& tables) {
  const io::H5File file = io::H5File::open_read(path);
  job.load(file);
  adam.load(file, "/optimizer");
  const int step = static_cast<int>(file.read("/step").item<int64_t>());
  tables.metrics = io::MetricsTable::read_h5(file, "/metrics");
  tables.timing = io::MetricsTable::read_h5(file, "/timing");
  tables.metrics.truncate_after(step);
  tables.timing.truncate_after(step);
  return step;
}

namespace {

// The dotted key of the first difference between two resolved configs, "" when they are equal.
std::string first_difference(const YAML::Node& a, const YAML::Node& b, const std::string& prefix) {
  if (a.IsMap() && b.IsMap()) {
    for (const auto& entry : a) {
      const auto key = entry.first.as<std::string>();
      const std::string where = prefix.empty() ? key : prefix + "." + key;
      if (!b[key]) return where;
      if (std::string found = first_difference(entry.second, b[key], where); !found.empty()) return found;
    }
    for (const auto& entry : b)
      if (!a[entry.first.as<std::string>()])
        return prefix.empty() ? entry.first.as<std::string>() : prefix + "." + entry.first.as<std::string>();
    return "";
  }
  YAML::Emitter left, right;
  left << a;
  right << b;
  return std::string(left.c_str()) == right.c_str() ? "" : prefix;
}

}  // namespace

void check_resumable(const std::filesystem::path& path, const Config& config) {
  const Config stored = parse_config(io::H5File::open_read(path).read_string("/meta/config"), {}, ".");
  const auto refuse = [&](const std::string& key, const std::string& was, const std::string& now) {
    throw Error("cannot resume " + path.string() + ": " + key + " was " + was + " in the checkpoint, " + now +
                " now (start a new run directory instead)");
  };
  if (stored.objective.kind != config.objective.kind)
    refuse("objective", stored.objective_name(), config.objective_name());
  if (stored.seed != config.seed) refuse("seed", std::to_string(stored.seed), std::to_string(config.seed));
  if (stored.process.steps != config.process.steps)
    refuse("process.steps", std::to_string(stored.process.steps), std::to_string(config.process.steps));
  if (stored.process.sigma2 != config.process.sigma2)
    refuse("process.sigma2", std::to_string(stored.process.sigma2), std::to_string(config.process.sigma2));
  const NetworkConfig &a = stored.network, &b = config.network;
  if (a.hidden != b.hidden) refuse("network.hidden", std::to_string(a.hidden), std::to_string(b.hidden));
  if (a.fourier_features != b.fourier_features)
    refuse("network.fourier_features", std::to_string(a.fourier_features),
           std::to_string(b.fourier_features));
  if (a.layers != b.layers) refuse("network.layers", std::to_string(a.layers), std::to_string(b.layers));
  // Anything else that defines the run (objective options, target, prior, reward, batch, learning rates, ...)
  // must be the same too; how long it runs, how often it logs and checkpoints, and evaluation may
  // change, and so may the engine that computes the same maths.
  Config continued = stored;
  continued.train.iterations = config.train.iterations;
  continued.train.exploration.decay_until = config.train.exploration.decay_until;
  continued.train.checkpoint_every = config.train.checkpoint_every;
  continued.train.log_every = config.train.log_every;
  continued.network.fused = config.network.fused;
  continued.eval = config.eval;
  const std::string key = first_difference(YAML::Load(to_yaml(continued)), YAML::Load(to_yaml(config)), "");
  if (!key.empty())
    throw Error("cannot resume " + path.string() + ": '" + key +
                "' differs from the checkpoint's config (start a new run directory instead)");
}

int checkpoint_ranks(const std::filesystem::path& path) {
  return static_cast<int>(io::H5File::open_read(path).read("/meta/ranks").item<int64_t>());
}

void write_parameters(io::H5File& file, const std::vector<NamedTensor>& parameters) {
  for (const auto& parameter : parameters) file.write("/parameters/" + parameter.name, parameter.tensor);
}

void read_parameters(const io::H5File& file, const std::vector<NamedTensor>& parameters) {
  torch::NoGradGuard no_grad;
  for (const auto& parameter : parameters) {
    const at::Tensor stored = file.read("/parameters/" + parameter.name);
    if (stored.sizes() != parameter.tensor.sizes())
      throw Error("checkpoint '" + file.path().string() + "': parameter '" + parameter.name +
                  "' has a different shape than the config's");
    parameter.tensor.copy_(stored);
  }
}

void save_method_checkpoint(const std::filesystem::path& run_dir, int step, int ranks,
                            const std::string& resolved_config, const TrainingTables& tables,
                            const std::function<void(io::H5File&)>& write_state) {
  io::write_atomically(run_dir / run_files::kCheckpoint, [&](io::H5File& file) {
    file.write("/step", torch::tensor(static_cast<int64_t>(step), torch::kInt64));
    file.write("/meta/ranks", torch::tensor(static_cast<int64_t>(ranks), torch::kInt64));
    file.write_string("/meta/config", resolved_config);
    write_state(file);
    tables.metrics.write_h5(file, "/metrics");
    tables.timing.write_h5(file, "/timing");
  });
  io::write_atomically(run_dir / run_files::kMetricsH5, [&](io::H5File& file) {
    tables.metrics.write_h5(file, "/metrics");
    tables.timing.write_h5(file, "/timing");
  });
  tables.metrics.write_csv(run_dir / run_files::kMetricsCsv);
}

int load_method_checkpoint(const std::filesystem::path& run_dir, TrainingTables& tables,
                           const std::function<void(const io::H5File&)>& read_state) {
  const io::H5File file = io::H5File::open_read(run_dir / run_files::kCheckpoint);
  const int step = static_cast<int>(file.read("/step").item<int64_t>());
  read_state(file);
  tables.metrics = io::MetricsTable::read_h5(file, "/metrics");
  tables.timing = io::MetricsTable::read_h5(file, "/timing");
  tables.metrics.truncate_after(step);
  tables.timing.truncate_after(step);
  return step;
}

}  // namespace tilt
