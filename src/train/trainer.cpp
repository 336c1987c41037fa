#include "train/trainer.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "dist/gradient_sync.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"
#include "io/png_plot.h"
#include "train/evaluate.h"
#include "train/job.h"
#include "train/progress.h"

namespace tilt {
namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }

const std::vector<std::string> kMetricColumns = {
    "step",     "loss", "log_z", "residual_mean", "residual_std", "exploration_std", "iterations_per_s",
    "elapsed_s"};

void save_checkpoint(const std::filesystem::path& run_dir, const Job& job, const Adam& adam, int step,
                     const io::MetricsTable& metrics, int ranks) {
  io::write_atomically(run_dir / run_files::kCheckpoint, [&](io::H5File& file) {
    for (const auto& parameter : job.parameters())
      file.write("/parameters/" + parameter.name, parameter.tensor);
    for (const auto& entry : adam.state()) file.write("/optimizer/" + entry.name, entry.tensor);
    file.write("/optimizer/steps", torch::tensor(adam.steps_taken(), torch::kInt64));
    file.write("/step", torch::tensor(static_cast<int64_t>(step), torch::kInt64));
    // The noise is counter-based: (seed, iteration) is the whole generator state.
    file.write("/rng/seed", torch::tensor(static_cast<int64_t>(job.rng().seed()), torch::kInt64));
    file.write("/rng/iteration", torch::tensor(static_cast<int64_t>(step), torch::kInt64));
    file.write_string("/meta/config", to_yaml(job.config()));
    file.write_string("/meta/version", TILT_VERSION);
    file.write("/meta/ranks", torch::tensor(static_cast<int64_t>(ranks), torch::kInt64));
    metrics.write_h5(file, "/metrics");
  });
  io::write_atomically(run_dir / run_files::kMetricsH5,
                       [&](io::H5File& file) { metrics.write_h5(file, "/metrics"); });
  metrics.write_csv(run_dir / run_files::kMetricsCsv);
}

// Restores parameters, optimiser state and metrics; returns the step to continue from.
int load_checkpoint(const std::filesystem::path& run_dir, Job& job, Adam& adam, io::MetricsTable& metrics) {
  const auto path = run_dir / run_files::kCheckpoint;
  load_parameters(job, path);
  io::H5File file = io::H5File::open_read(path);
  std::vector<NamedTensor> state;
  for (const auto& entry : adam.state()) state.push_back({entry.name, file.read("/optimizer/" + entry.name)});
  adam.load_state(state, file.read("/optimizer/steps").item<int64_t>());
  const int step = static_cast<int>(file.read("/step").item<int64_t>());
  metrics = io::MetricsTable::read_h5(file, "/metrics");
  metrics.truncate_after(step);
  return step;
}

void prepare_run_dir(const Config& config, const TrainOptions& options) {
  const auto& dir = options.run_dir;
  if (options.resume) {
    if (!std::filesystem::exists(dir / run_files::kCheckpoint))
      throw Error("--resume: no checkpoint in '" + dir.string() + "'");
    // --set may have changed the config (e.g. more iterations): the directory describes the run it holds.
    std::ofstream(dir / run_files::kConfig) << to_yaml(config);
    return;
  }
  if (std::filesystem::exists(dir / run_files::kCheckpoint))
    throw Error("run directory '" + dir.string() +
                "' already holds a run: continue it with --resume, or choose another --out");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / run_files::kConfig) << to_yaml(config);
}

}  // namespace

void configure_threads(const Communicator& comm) {
  // The rank's cores go to LibTorch's intra-op pool. OpenBLAS keeps a pool of its own, and with both
  // pools at 2 threads on 2 cores their spinning workers starve each other (bench_iteration on one
  // rank: rollout 625 ms per iteration, against 28 ms with one OpenBLAS thread), so BLAS calls run
  // on the calling thread.
  torch::set_num_threads(cores_per_rank(comm));
  // Looked up at run time: which BLAS LibTorch loads is the system's packaging choice.
  using SetThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(1);
}

std::string metrics_json(const std::vector<std::pair<std::string, double>>& metrics) {
  nlohmann::ordered_json out;
  for (const auto& [name, value] : metrics)
    out[name] = std::isfinite(value) ? nlohmann::ordered_json(value) : nullptr;
  return out.dump();
}

void write_samples(const std::filesystem::path& path, const std::vector<float>& samples, int dim,
                   const Config& config) {
  const int64_t n = static_cast<int64_t>(samples.size()) / dim;
  io::write_atomically(path, [&](io::H5File& file) {
    file.write("/samples", torch::from_blob(const_cast<float*>(samples.data()), {n, dim}, torch::kFloat32));
    file.write_string("/config", to_yaml(config));
  });
}

void write_samples_png(const std::filesystem::path& path, const Job& job, const std::vector<float>& samples) {
  const GaussianMixture& truth = job.target().truth.distribution;
  if (truth.dim() != 2) {
    std::printf("note: no %s: plots are drawn for 2-D targets only (this one has D = %lld)\n",
                path.filename().c_str(), static_cast<long long>(truth.dim()));
    return;
  }
  io::PlotBox box{-1, 1, -1, 1};
  if (const auto& configured = job.config().eval.plot_box) {
    box = {(*configured)[0], (*configured)[1], (*configured)[2], (*configured)[3]};
  } else {
    // The exact distribution's means, padded by 4 standard deviations of its widest component.
    const at::Tensor means = truth.means();
    const double pad = 4 * std::sqrt(truth.covariances().diagonal(0, -2, -1).max().item<double>()) + 1;
    box = {means.select(1, 0).min().item<double>() - pad, means.select(1, 0).max().item<double>() + pad,
           means.select(1, 1).min().item<double>() - pad, means.select(1, 1).max().item<double>() + pad};
  }
  io::write_density_png(
      path,
      [&](const std::vector<double>& points) {
        const at::Tensor x = torch::from_blob(const_cast<double*>(points.data()),
                                              {static_cast<int64_t>(points.size() / 2), 2}, torch::kFloat64);
        const at::Tensor log_density = truth.log_prob(x).contiguous();
        return std::vector<double>(log_density.data_ptr<double>(),
                                   log_density.data_ptr<double>() + log_density.numel());
      },
      samples, box);
}

std::vector<std::pair<std::string, double>> train(const Config& config, const TrainOptions& options,
                                                  Communicator& comm) {
  configure_threads(comm);
  // Rank 0 creates the directory; a failure there must reach every rank before they go on.
  int ok = 1;
  std::string failure;
  if (comm.is_root()) {
    try {
      prepare_run_dir(config, options);
    } catch (const std::exception& e) {
      ok = 0;
      failure = e.what();
    }
  }
  comm.broadcast(&ok, sizeof(ok), 0);
  if (!ok) {
    if (comm.is_root()) throw Error(failure);
    throw Error("rank 0 could not prepare the run directory");
  }

  Job job(config);
  Adam adam = job.make_optimizer();
  io::MetricsTable metrics{kMetricColumns, {}};
  int start = 0;
  if (options.resume) start = load_checkpoint(options.run_dir, job, adam, metrics);
  std::vector<at::Tensor> parameters = adam.parameters();
  broadcast_parameters(parameters, comm);

  const TrainConfig& t = config.train;
  const BatchShard shard = shard_batch(t.batch, comm.rank(), comm.size());
  GradientSync gradient_sync;
  Progress progress(start, t.iterations, comm.is_root() && !options.quiet);
  if (comm.is_root() && !options.quiet)
    std::printf("tilt: %s, %d ranks x ~%lld trajectories, T = %d, D = %d, iterations %d..%d -> %s\n",
                config.objective_name().c_str(), comm.size(), static_cast<long long>(shard.count),
                config.process.steps, config.dim(), start, t.iterations, options.run_dir.c_str());

  g_stop_signal = 0;
  auto previous_int = std::signal(SIGINT, on_stop_signal);
  auto previous_term = std::signal(SIGTERM, on_stop_signal);
  const auto started = std::chrono::steady_clock::now();
  int step = start;
  for (; step < t.iterations; ++step) {
    adam.zero_grad();
    const Trajectory batch = job.training_batch(static_cast<uint32_t>(step), shard);
    const LossStats local = job.objective().accumulate_gradients(batch, t.batch);
    gradient_sync.all_reduce(parameters, comm);
    // Loss sums and the stop flag in one collective: all ranks stop at the same iteration.
    double totals[5] = {local.loss_sum, local.residual_sum, local.residual_square_sum, local.count,
                        static_cast<double>(g_stop_signal.load())};
    comm.all_reduce_sum(totals, 5);
    const double loss = totals[0] / totals[3];
    if (!std::isfinite(loss))
      throw Error("loss is not finite at iteration " + std::to_string(step) +
                  " (lower train.lr or set train.log_reward_floor); the last checkpoint is intact");
    adam.step();

    const double log_z = job.has_log_z() ? job.log_z() : 0.0;
    progress.update(step, loss, log_z, t.log_every);
    if ((step + 1) % t.log_every == 0 || step + 1 == t.iterations) {
      const double mean = totals[1] / totals[3];
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics.append({static_cast<double>(step + 1), loss, log_z, mean,
                      std::sqrt(std::max(0.0, totals[2] / totals[3] - mean * mean)),
                      job.exploration_std(step), progress.iterations_per_second(), elapsed});
    }
    const bool stopping = totals[4] != 0;
    if ((step + 1) % t.checkpoint_every == 0 || step + 1 == t.iterations || stopping) {
      if (comm.is_root()) save_checkpoint(options.run_dir, job, adam, step + 1, metrics, comm.size());
      comm.barrier();
    }
    if (stopping) {
      ++step;
      break;
    }
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  progress.finish();
  if (step < t.iterations) {
    if (comm.is_root())
      std::printf("tilt: stopped by signal at iteration %d; checkpoint saved, continue with --resume %s\n",
                  step, options.run_dir.c_str());
    return {};
  }
  if (start == t.iterations && comm.is_root() && !options.quiet)
    std::printf("tilt: the run had already finished its %d iterations; evaluating\n", t.iterations);

  Evaluation evaluation = evaluate(job, comm, config.eval.samples);
  if (comm.is_root()) {
    write_samples(options.run_dir / run_files::kSamples, evaluation.samples, config.dim(), config);
    write_samples_png(options.run_dir / run_files::kSamplesPng, job, evaluation.samples);
    std::ofstream(options.run_dir / run_files::kEval) << metrics_json(evaluation.metrics) << "\n";
    if (!options.quiet) {
      std::printf("final metrics (%s):\n", (options.run_dir / run_files::kEval).c_str());
      for (const auto& [name, value] : evaluation.metrics) std::printf("  %-32s %.6g\n", name.c_str(), value);
    }
  }
  return evaluation.metrics;
}

}  // namespace tilt
