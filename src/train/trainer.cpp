#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>

#include "core/cpu_setup.h"
#include "core/error.h"
#include "dist/gradient_sync.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/run_files.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/job.h"
#include "train/method_loop.h"
#include "train/progress.h"
#include "train/run_control.h"

namespace tilt {
namespace {

// Columns: step, loss, log_z (objectives that estimate it), the objective's metrics, the source's,
// the learning-rate factor (with train.lr_decay).
TrainingTables empty_tables(const Job& job) {
  std::vector<std::string> columns{"step", "loss"};
  if (job.objective().log_z()) columns.push_back("log_z");
  for (const auto& name : job.objective().metric_names()) columns.push_back(name);
  for (const auto& name : job.source().metric_names()) columns.push_back(name);
  if (job.config().train.lr_decay) columns.push_back("lr_scale");
  return {{columns, {}}, {{"step", "iterations_per_s", "elapsed_s"}, {}}};
}

}  // namespace

TrainResult train(const Config& config, const TrainOptions& options, Communicator& comm) {
  // From the start: a stop signal during setup (loading a checkpoint, say) is taken at the first
  // iteration's collective instead of killing the rank without a checkpoint.
  const StopSignals stop_signals;
  configure_threads(cores_per_rank(comm));
  bool resuming = false;
  std::optional<RunDirectoryLock> lock;
  on_root_for_all(comm, "prepare the run directory", [&] {
    lock.emplace(options.run_dir);
    resuming = prepare_run_directory(options.run_dir, options.start, config);
  });
  comm.broadcast(&resuming, sizeof(resuming), 0);

  Job job(config);
  Adam adam = job.make_optimizer();
  TrainingTables tables = empty_tables(job);
  const auto checkpoint_path = options.run_dir / run_files::kCheckpoint;
  const int start = resuming ? load_checkpoint(checkpoint_path, job, adam, tables) : 0;
  std::vector<at::Tensor> parameters = adam.parameters();
  broadcast_parameters(parameters, comm);

  const Provenance provenance = collect_provenance(config, start, comm);
  const bool verbose = comm.is_root() && !options.quiet;
  on_root_for_all(comm, "record the provenance", [&] {
    record_session(options.run_dir, provenance, resuming);
    if (!verbose) return;
    std::printf("tilt: %s\n", layout_line(provenance).c_str());
    if (resuming) {
      const int ranks_before = checkpoint_ranks(checkpoint_path);
      if (ranks_before != comm.size())
        std::printf(
            "tilt: resuming a checkpoint written on %d ranks on %d ranks (the noise is counter-based: "
            "the run continues unchanged)\n",
            ranks_before, comm.size());
    }
  });

  const TrainConfig& t = config.train;
  const BatchShard shard = shard_batch(t.batch, comm.rank(), comm.size());
  GradientSync sync;
  Progress progress(start, t.iterations, verbose);
  if (verbose)
    std::printf("tilt: %s, %d ranks x ~%lld trajectories, T = %d, D = %d, iterations %d..%d -> %s\n",
                config.objective_name().c_str(), comm.size(), static_cast<long long>(shard.count),
                config.process.steps, config.dim(), start, t.iterations, options.run_dir.c_str());

  const auto started = std::chrono::steady_clock::now();
  int step = start;
  int stop_signal = 0;
  for (; step < t.iterations && stop_signal == 0; ++step) {
    // The stop flags ride in the loss-sum all-reduce, so all ranks stop at the same iteration on a
    // signal any rank received: [0] counts ranks asked to stop, [1] those of them by SIGINT.
    const int received = StopSignals::received();
    const StepTotals totals = train_step(job, adam, sync, comm, static_cast<uint32_t>(step), shard,
                                         {received != 0 ? 1.0 : 0.0, received == SIGINT ? 1.0 : 0.0});
    if (totals.flags[0] > 0)
      stop_signal = totals.flags[1] > 0 ? SIGINT : (received != 0 ? received : SIGUSR1);
    const std::optional<double> log_z = job.objective().log_z();
    progress.update(step, totals.loss, log_z, t.log_every);
    const int done = step + 1;
    if (done % t.log_every == 0 || done == t.iterations) {
      std::vector<std::pair<std::string, double>> row{{"step", done}, {"loss", totals.loss}};
      if (log_z) row.emplace_back("log_z", *log_z);
      for (const auto& metric : job.objective().metrics(totals.sums, totals.count)) row.push_back(metric);
      const std::vector<std::string> source_names = job.source().metric_names();
      const std::vector<double> source_values = job.source().metrics(static_cast<uint32_t>(step));
      for (size_t i = 0; i < source_names.size(); ++i) row.emplace_back(source_names[i], source_values[i]);
      if (t.lr_decay) row.emplace_back("lr_scale", t.lr_scale(step));
      tables.metrics.append(row);
      tables.timing.append(
          {{"step", done},
           {"iterations_per_s", progress.iterations_per_second()},
           {"elapsed_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    }
    if (done % t.checkpoint_every == 0 || done == t.iterations || stop_signal != 0) {
      on_root_for_all(comm, "write the checkpoint", [&] {
        save_checkpoint(checkpoint_path, job, adam, done, tables, provenance);
        io::write_atomically(options.run_dir / run_files::kMetricsH5, [&](io::H5File& file) {
          tables.metrics.write_h5(file, "/metrics");
          tables.timing.write_h5(file, "/timing");
          stamp(file, provenance);
        });
        tables.metrics.write_csv(options.run_dir / run_files::kMetricsCsv);
      });
    }
  }
  progress.finish();
  // A signal during the last iteration lets the run finish: its evaluation costs seconds.
  if (step < t.iterations) {
    if (comm.is_root())
      std::printf(
          "tilt: stopped by signal %d at iteration %d; checkpoint saved (continue with --resume %s)\n",
          stop_signal, step, options.run_dir.c_str());
    return {stop_signal == SIGINT ? TrainOutcome::kInterrupted : TrainOutcome::kStopped, {}};
  }
  if (start == t.iterations && verbose)
    std::printf("tilt: the run had already finished its %d iterations; evaluating\n", t.iterations);

  Evaluation evaluation = evaluate(job, comm, config.eval.samples);
  on_root_for_all(comm, "write the evaluation", [&] {
    write_samples(options.run_dir / run_files::kSamples, evaluation.samples, job, provenance);
    write_final_metrics(options.run_dir, evaluation.metrics, verbose);
  });
  return {TrainOutcome::kFinished, evaluation.metrics};
}

}  // namespace tilt
