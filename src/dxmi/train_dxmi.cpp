#include "dxmi/train_dxmi.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/cpu_setup.h"
#include "core/error.h"
#include "dist/gather.h"
#include "dist/gradient_sync.h"
#include "dxmi/density2d.h"
#include "dxmi/evaluate_2d.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"
#include "io/run_files.h"
#include "train/adam.h"
#include "train/progress.h"
#include "train/run_control.h"
#include "train/run_directory.h"

namespace tilt::dxmi {
namespace {

constexpr const char* kPriorEval = "prior_eval.json";  // the starting sampler's metrics

std::vector<at::Tensor> tensors(const std::vector<NamedTensor>& parameters) {
  std::vector<at::Tensor> out;
  for (const auto& p : parameters) out.push_back(p.tensor);
  return out;
}

// The sampler's metrics, and the energy's once it has been trained (the starting sampler's
// evaluation comes before any energy step).
Metrics evaluate_all(const Dxmi& dxmi, const Density2d& density, const CounterRng& rng, int64_t samples,
                     Communicator& comm, bool with_energy) {
  Metrics metrics = evaluate_samples(dxmi.sampler(), density, rng, samples, kSamplingDraws, comm);
  if (with_energy)
    for (const auto& metric : evaluate_energy(dxmi, density)) metrics.push_back(metric);
  return metrics;
}

// The run's metric columns: step, phase (0 prior, 1 DxMI), the prior's denoising loss, DxMI's.
std::vector<std::string> metric_columns() {
  std::vector<std::string> columns{"step", "phase", "denoising_loss"};
  for (const auto& name : Dxmi::metric_names()) columns.push_back(name);
  return columns;
}

// samples.h5 as tilt's sampler runs write it (train/run_directory.h): /samples [N, 2], and the exact
// log-density on a 200 x 200 grid over [-4.5, 4.5]^2 (/exact/x, /exact/y, /exact/log_density) for plots.
void write_samples_2d(const std::filesystem::path& path, const std::vector<float>& samples,
                      const Density2d& density, const std::string& config) {
  const int64_t n = static_cast<int64_t>(samples.size()) / 2, side = 200;
  io::write_atomically(path, [&](io::H5File& file) {
    file.write("/samples", torch::from_blob(const_cast<float*>(samples.data()), {n, 2}, torch::kFloat32));
    file.write_string("/config", config);
    const at::Tensor axis = torch::linspace(-4.5, 4.5, side, torch::kFloat64);
    const std::vector<at::Tensor> mesh = torch::meshgrid({axis, axis}, "ij");
    const at::Tensor points = torch::stack({mesh[1].reshape(-1), mesh[0].reshape(-1)}, 1);
    file.write("/exact/x", axis);
    file.write("/exact/y", axis);
    file.write("/exact/log_density", density.log_density(points).clamp_min(-1e4).reshape({side, side}));
  });
}

}  // namespace

void check_dxmi_resumable(const std::filesystem::path& checkpoint, const DxmiConfig& config) {
  const io::H5File file = io::H5File::open_read(checkpoint);
  DxmiConfig stored = parse_dxmi_config(file.read_string("/meta/config"));
  stored.iterations = config.iterations;
  stored.log_every = config.log_every;
  stored.checkpoint_every = config.checkpoint_every;
  stored.eval_samples = config.eval_samples;
  std::istringstream a(to_yaml(stored)), b(to_yaml(config));
  std::string line_a, line_b;
  while (std::getline(a, line_a) && std::getline(b, line_b))
    if (line_a != line_b)
      throw Error("checkpoint '" + checkpoint.string() + "' was written under a different DxMI config: '" +
                  line_a + "' there, '" + line_b +
                  "' here (only train.iterations, train.log_every, "
                  "train.checkpoint_every and eval may change on resume)");
}

TrainResult train_dxmi(const DxmiConfig& config, const TrainOptions& options, Communicator& comm) {
  const StopSignals stop_signals;
  configure_threads(cores_per_rank(comm));
  const std::string resolved = to_yaml(config);
  bool resuming = false;
  std::optional<RunDirectoryLock> lock;
  on_root_for_all(comm, "prepare the run directory", [&] {
    lock.emplace(options.run_dir);
    resuming =
        prepare_run_directory(options.run_dir, options.start, resolved,
                              [&](const std::filesystem::path& c) { check_dxmi_resumable(c, config); });
  });
  comm.broadcast(&resuming, sizeof(resuming), 0);

  const CounterRng rng(config.seed);
  const std::unique_ptr<Density2d> density = make_density2d(config.data);
  torch::manual_seed(config.seed);  // the networks' initial weights: the same on every rank and every run
  Dxmi dxmi(config.options, 2, config.steps, config.network);
  Adam prior_adam({{dxmi.sampler().network_parameters(), config.prior_lr}});
  io::MetricsTable metrics{metric_columns(), {}}, timing{{"step", "iterations_per_s", "elapsed_s"}, {}};
  const auto checkpoint_path = options.run_dir / run_files::kCheckpoint;
  int start = 0;
  if (resuming) {
    const io::H5File file = io::H5File::open_read(checkpoint_path);
    start = static_cast<int>(file.read("/step").item<int64_t>());
    dxmi.load(file);
    prior_adam.load(file, "/optimizer/prior");
    metrics = io::MetricsTable::read_h5(file, "/metrics");
    timing = io::MetricsTable::read_h5(file, "/timing");
    metrics.truncate_after(start);
    timing.truncate_after(start);
  }
  broadcast_parameters(tensors(dxmi.parameters()), comm);

  const bool verbose = comm.is_root() && !options.quiet;
  const int total = config.total_iterations();
  if (verbose)
    std::printf("tilt: dxmi on %s, T = %d, %d ranks; denoising score matching %d iterations, DxMI %d -> %s\n",
                config.data.c_str(), config.steps, comm.size(), config.prior_iterations, config.iterations,
                options.run_dir.c_str());
  Progress progress(start, total, verbose);
  GradientSync sync;
  const auto started = std::chrono::steady_clock::now();
  const auto save = [&](int done) {
    on_root_for_all(comm, "write the checkpoint", [&] {
      io::write_atomically(checkpoint_path, [&](io::H5File& file) {
        file.write("/step", torch::tensor(static_cast<int64_t>(done), torch::kInt64));
        file.write("/meta/ranks", torch::tensor(static_cast<int64_t>(comm.size()), torch::kInt64));
        file.write_string("/meta/config", resolved);
        dxmi.save(file);
        prior_adam.save(file, "/optimizer/prior");
        metrics.write_h5(file, "/metrics");
        timing.write_h5(file, "/timing");
      });
      io::write_atomically(options.run_dir / run_files::kMetricsH5, [&](io::H5File& file) {
        metrics.write_h5(file, "/metrics");
        timing.write_h5(file, "/timing");
      });
      metrics.write_csv(options.run_dir / run_files::kMetricsCsv);
    });
  };

  int step = start, stop_signal = 0;
  for (; step < total && stop_signal == 0; ++step) {
    const int received = StopSignals::received();
    double flags[2] = {received != 0 ? 1.0 : 0.0, received == SIGINT ? 1.0 : 0.0};
    comm.all_reduce_sum(flags, 2);
    if (flags[0] > 0) stop_signal = flags[1] > 0 ? SIGINT : (received != 0 ? received : SIGUSR1);
    const auto iteration = static_cast<uint32_t>(step);
    std::vector<std::pair<std::string, double>> row{{"step", step + 1}};
    double loss = 0;
    if (step < config.prior_iterations) {
      const BatchShard shard = shard_batch(config.prior_batch, comm.rank(), comm.size());
      const at::Tensor data = density->sample(rng, iteration, shard.begin, shard.count);
      const at::Tensor dsm = dxmi.sampler().denoising_loss(data, rng, iteration, shard, config.prior_batch);
      prior_adam.zero_grad();
      dsm.backward();
      sync.all_reduce(tensors(dxmi.sampler().network_parameters()), comm);
      prior_adam.step();
      loss = dsm.item<double>();
      comm.all_reduce_sum(&loss, 1);
      row.insert(row.end(), {{"phase", 0}, {"denoising_loss", loss}});
      for (const auto& name : Dxmi::metric_names()) row.emplace_back(name, std::nan(""));
    } else {
      if (step == config.prior_iterations) {
        const Metrics prior = evaluate_all(dxmi, *density, rng, config.eval_samples, comm, false);
        on_root_for_all(comm, "write the prior's evaluation", [&] {
          io::write_text_atomically(options.run_dir / kPriorEval, metrics_json(prior) + "\n");
        });
      }
      const BatchShard shard = shard_batch(config.batch, comm.rank(), comm.size());
      const at::Tensor data = density->sample(rng, iteration, shard.begin, shard.count);
      const Metrics values = dxmi.iteration(data, rng, iteration, shard, config.batch, comm);
      loss = values.front().second;
      row.insert(row.end(), {{"phase", 1}, {"denoising_loss", std::nan("")}});
      row.insert(row.end(), values.begin(), values.end());
    }
    progress.update(step, loss, std::nullopt, config.log_every);
    const int done = step + 1;
    if (done % config.log_every == 0 || done == total) {
      metrics.append(row);
      timing.append(
          {{"step", done},
           {"iterations_per_s", progress.iterations_per_second()},
           {"elapsed_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    }
    if (done % config.checkpoint_every == 0 || done == total || stop_signal != 0) save(done);
  }
  progress.finish();
  if (step < total) {
    if (comm.is_root())
      std::printf(
          "tilt: stopped by signal %d at iteration %d; checkpoint saved (continue with --resume %s)\n",
          stop_signal, step, options.run_dir.c_str());
    return {stop_signal == SIGINT ? TrainOutcome::kInterrupted : TrainOutcome::kStopped, {}};
  }

  Metrics final_metrics = evaluate_all(dxmi, *density, rng, config.eval_samples, comm, config.iterations > 0);
  const std::vector<float> samples = gather_rows(
      dxmi.sampler().rollout(rng, kSamplingDraws,
                             shard_batch(config.eval_samples, comm.rank(), comm.size()))[config.steps],
      comm);
  on_root_for_all(comm, "write the samples", [&] {
    write_samples_2d(options.run_dir / run_files::kSamples, samples, *density, resolved);
  });
  on_root_for_all(comm, "write the evaluation", [&] {
    Metrics written = final_metrics;
    std::ifstream prior_file(options.run_dir / kPriorEval);
    if (prior_file) {
      const nlohmann::json prior = nlohmann::json::parse(prior_file);
      for (const auto& [name, value] : prior.items())
        written.emplace_back("prior_" + name, value.is_number() ? value.get<double>() : std::nan(""));
    }
    io::write_text_atomically(options.run_dir / run_files::kEval, metrics_json(written) + "\n");
    if (verbose) {
      std::printf("final metrics (%s):\n", (options.run_dir / run_files::kEval).c_str());
      for (const auto& [name, value] : written) std::printf("  %-36s %.6g\n", name.c_str(), value);
    }
  });
  return {TrainOutcome::kFinished, final_metrics};
}

}  // namespace tilt::dxmi
