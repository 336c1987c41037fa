#include "dxmi/train_dxmi.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/cpu_setup.h"
#include "core/error.h"
#include "dist/gradient_sync.h"
#include "dxmi/architecture_config.h"
#include "dxmi/dxmi_data.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"
#include "io/run_files.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/method_loop.h"
#include "train/progress.h"
#include "train/run_control.h"

namespace tilt::dxmi {
namespace {

constexpr const char* kPriorEval = "prior_eval.json";  // the starting sampler's metrics

// The run's metric columns: step, phase (0 prior, 1 DxMI), the prior's denoising loss, DxMI's.
std::vector<std::string> metric_columns() {
  std::vector<std::string> columns{"step", "phase", "denoising_loss"};
  for (const auto& name : Dxmi::metric_names()) columns.push_back(name);
  return columns;
}

// The noise predictor's part of the network section as written back, on one line: two configs build
// the same noise predictor when these agree (the critics may differ: a prior trains none).
std::string noise_predictor_yaml(ArchitectureConfig network) {
  network.critic_features = {};
  YAML::Node node(YAML::NodeType::Map);  // a map already: a null node's copy would not share the writes
  write_architecture(node, network);
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// The checkpoint of the run in `run_dir` holding the prior `config` starts from: that run must have
// stopped at the end of its prior phase (past it, the checkpoint holds DxMI's fine-tuned network, not
// the prior) and trained the same network (the data may differ: e.g. one class fine-tuned from a prior
// of all). Checked before this run's directory is made.
std::filesystem::path prior_checkpoint(const std::filesystem::path& run_dir, const DxmiConfig& config) {
  const std::filesystem::path path = run_dir / run_files::kCheckpoint;
  if (!std::filesystem::exists(path))
    throw Error("prior.from: '" + run_dir.string() + "' holds no checkpoint (" + path.string() + ")");
  const io::H5File file = io::H5File::open_read(path);
  const DxmiConfig source = parse_dxmi_config(file.read_string("/meta/config"));
  const int64_t step = file.read("/step").item<int64_t>();
  if (step < source.prior_iterations)
    throw Error("prior.from: '" + run_dir.string() + "' stopped at iteration " + std::to_string(step) +
                ", inside its prior phase (" + std::to_string(source.prior_iterations) + " iterations)");
  if (step > source.prior_iterations)
    throw Error(
        "prior.from: '" + run_dir.string() + "' ran " + std::to_string(step - source.prior_iterations) +
        " DxMI iterations past its prior: its noise predictor is no longer the prior; point prior.from "
        "at a prior-only run (train.iterations=0)");
  const std::string source_network = noise_predictor_yaml(source.network),
                    network = noise_predictor_yaml(config.network);
  if (source_network != network)
    throw Error("prior.from: '" + run_dir.string() + "' trained the noise predictor " + source_network +
                ", this run's is " + network);
  return path;
}

}  // namespace

void check_dxmi_resumable(const std::filesystem::path& checkpoint, const DxmiConfig& config) {
  const io::H5File file = io::H5File::open_read(checkpoint);
  DxmiConfig stored = parse_dxmi_config(file.read_string("/meta/config"));
  stored.iterations = config.iterations;
  stored.log_every = config.log_every;
  stored.checkpoint_every = config.checkpoint_every;
  // The prior's metrics are written once, at the end of its phase: the classifier and the
  // reference steps they used stay, so that prior_* and the final metrics remain comparable.
  stored.eval.samples = config.eval.samples;
  stored.eval.guidance_scale = config.eval.guidance_scale;
  require_same_config(checkpoint, to_yaml(stored), to_yaml(config),
                      "train.iterations, train.log_every, train.checkpoint_every, eval.samples and "
                      "eval.guidance_scale");
}

TrainResult train_dxmi(const DxmiConfig& config, const TrainOptions& options, Communicator& comm) {
  const StopSignals stop_signals;
  configure_threads(cores_per_rank(comm));
  const std::string resolved = to_yaml(config);
  const bool verbose = comm.is_root() && !options.quiet;
  const CounterRng rng(config.seed);
  // The data and the prior's source first: either unusable stops the run before its directory is made.
  const std::unique_ptr<DxmiData> data = make_dxmi_data(config, comm, verbose);
  const bool loads_prior = !config.prior_from.empty() && options.start != StartMode::kResume;
  const std::filesystem::path prior_source = loads_prior ? prior_checkpoint(config.prior_from, config) : "";
  const PreparedRunDirectory run_directory(
      options, resolved, comm, [&](const std::filesystem::path& c) { check_dxmi_resumable(c, config); });

  torch::manual_seed(config.seed);  // the networks' initial weights: the same on every rank and every run
  Dxmi dxmi(config.options, data->dim(), config.steps, config.network, config.spacing);
  Adam prior_adam({{dxmi.sampler().network_parameters(), config.prior_lr}});
  TrainingTables tables{{metric_columns(), {}}, {{"step", "iterations_per_s", "elapsed_s"}, {}}};
  int start = 0;
  if (run_directory.resuming()) {
    start = load_method_checkpoint(options.run_dir, tables, [&](const io::H5File& file) {
      dxmi.load(file);
      prior_adam.load(file, "/optimizer/prior");
    });
  } else if (!prior_source.empty()) {
    read_parameters(io::H5File::open_read(prior_source), dxmi.sampler().network_parameters());
  }
  broadcast_parameters(tensors_of(dxmi.parameters()), comm);

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
      save_method_checkpoint(options.run_dir, done, comm.size(), resolved, tables, [&](io::H5File& file) {
        dxmi.save(file);
        prior_adam.save(file, "/optimizer/prior");
      });
    });
  };

  // The starting sampler's metrics: before the first DxMI iteration, or at the end of a prior-only
  // run (whose final metrics and samples they are).
  const auto evaluate_prior = [&](at::Tensor* samples) {
    if (verbose)
      std::printf("tilt: evaluating the starting sampler (%lld samples)\n",
                  static_cast<long long>(config.eval.samples));
    const Metrics prior = data->evaluate_prior(dxmi.sampler(), rng, comm, samples);
    on_root_for_all(comm, "write the prior's evaluation", [&] {
      io::write_text_atomically(options.run_dir / kPriorEval, metrics_json(prior) + "\n");
    });
    return prior;
  };

  int step = start, stop_signal = 0;
  for (; step < total && stop_signal == 0; ++step) {
    stop_signal = agreed_stop_signal(comm);
    const auto iteration = static_cast<uint32_t>(step);
    std::vector<std::pair<std::string, double>> row{{"step", step + 1}};
    double loss = 0;
    if (step < config.prior_iterations) {
      const BatchShard shard = shard_batch(config.prior_batch, comm.rank(), comm.size());
      const at::Tensor batch = data->batch(rng, iteration, shard);
      const at::Tensor dsm = dxmi.sampler().denoising_loss(batch, rng, iteration, shard, config.prior_batch);
      prior_adam.zero_grad();
      dsm.backward();
      sync.all_reduce(tensors_of(dxmi.sampler().network_parameters()), comm);
      prior_adam.step();
      loss = dsm.item<double>();
      comm.all_reduce_sum(&loss, 1);
      row.insert(row.end(), {{"phase", 0}, {"denoising_loss", loss}});
      for (const auto& name : Dxmi::metric_names()) row.emplace_back(name, std::nan(""));
    } else {
      if (step == config.prior_iterations) evaluate_prior(nullptr);
      const BatchShard shard = shard_batch(config.batch, comm.rank(), comm.size());
      const Metrics values =
          dxmi.iteration(data->batch(rng, iteration, shard), rng, iteration, shard, config.batch, comm);
      loss = values.front().second;
      row.insert(row.end(), {{"phase", 1}, {"denoising_loss", std::nan("")}});
      row.insert(row.end(), values.begin(), values.end());
    }
    progress.update(step, loss, std::nullopt, config.log_every);
    const int done = step + 1;
    if (done % config.log_every == 0 || done == total) {
      tables.metrics.append(row);
      tables.timing.append(
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

  at::Tensor samples;
  Metrics final_metrics;
  if (config.iterations == 0) {
    final_metrics = evaluate_prior(&samples);
  } else {
    if (verbose) {
      std::printf("tilt: evaluating (%lld samples", static_cast<long long>(config.eval.samples));
      if (config.eval.guidance_scale != 0) std::printf(", value guidance %g", config.eval.guidance_scale);
      std::printf(")\n");
    }
    final_metrics = data->evaluate(dxmi, rng, comm, &samples);
  }
  on_root_for_all(comm, "write the samples", [&] {
    io::write_atomically(options.run_dir / run_files::kSamples, [&](io::H5File& file) {
      data->write_samples(file, samples, config.iterations == 0 ? nullptr : &dxmi);
      file.write_string("/config", resolved);
    });
  });
  on_root_for_all(comm, "write the evaluation", [&] {
    Metrics written = final_metrics;
    std::ifstream prior_file(options.run_dir / kPriorEval);
    if (prior_file) {
      const nlohmann::json prior = nlohmann::json::parse(prior_file);
      for (const auto& [name, value] : prior.items())
        written.emplace_back("prior_" + name, value.is_number() ? value.get<double>() : std::nan(""));
    }
    write_final_metrics(options.run_dir, written, verbose);
  });
  return {TrainOutcome::kFinished, final_metrics};
}

}  // namespace tilt::dxmi
