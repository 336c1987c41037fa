#include "mdm/train_mdm.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "core/cpu_setup.h"
#include "dist/gradient_sync.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"
#include "io/run_files.h"
#include "mdm/mdm_data.h"
#include "train/checkpoint.h"
#include "train/method_loop.h"
#include "train/run_control.h"

namespace tilt::mdm {
namespace {

void check_resumable(const std::filesystem::path& checkpoint, const MdmConfig& config) {
  const io::H5File file = io::H5File::open_read(checkpoint);
  MdmConfig stored = parse_mdm_config(file.read_string("/meta/config"));
  stored.iterations = config.iterations;
  stored.log_every = config.log_every;
  stored.checkpoint_every = config.checkpoint_every;
  stored.eval_examples = config.eval_examples;
  stored.eval_samples = config.eval_samples;
  stored.sampler_steps = config.sampler_steps;
  require_same_config(checkpoint, to_yaml(stored), to_yaml(config),
                      "train.iterations, train.log_every, train.checkpoint_every and eval");
}

}  // namespace

TrainResult train_mdm(const MdmConfig& config, const TrainOptions& options, Communicator& comm) {
  const StopSignals stop_signals;
  configure_threads(cores_per_rank(comm));
  const std::string resolved = to_yaml(config);
  const bool verbose = comm.is_root() && !options.quiet;
  const CounterRng rng(config.seed);
  const PreparedRunDirectory run_directory(
      options, resolved, comm, [&](const std::filesystem::path& c) { check_resumable(c, config); });

  torch::manual_seed(config.seed);  // the network's initial weights: the same on every rank and every run
  const std::unique_ptr<MdmData> data = make_mdm_data(config, comm, verbose);
  MdmModel model(config.options, data->dim(), config.seed);
  TrainingTables tables{{{"step", "negative_elbo"}, {}}, {{"step", "iterations_per_s", "elapsed_s"}, {}}};
  int start = 0;
  if (run_directory.resuming())
    start =
        load_method_checkpoint(options.run_dir, tables, [&](const io::H5File& file) { model.load(file); });
  broadcast_parameters(tensors_of(model.parameters()), comm);
  if (verbose)
    std::printf("tilt: mdm %s (K = %d) on %s, %d ranks; %d iterations at batch %lld -> %s\n",
                config.options.process.kind.c_str(), model.process().variables(), config.data.c_str(),
                comm.size(), config.iterations, static_cast<long long>(config.batch),
                options.run_dir.c_str());

  const auto save = [&](int done) {
    on_root_for_all(comm, "write the checkpoint", [&] {
      save_method_checkpoint(options.run_dir, done, comm.size(), resolved, tables,
                             [&](io::H5File& file) { model.save(file); });
    });
  };
  const TrainOutcome outcome = run_iterations(
      start, {config.iterations, config.log_every, config.checkpoint_every}, "negative_elbo", tables,
      options.run_dir, verbose, comm,
      [&](int step) {
        const auto iteration = static_cast<uint32_t>(step);
        const BatchShard shard = shard_batch(config.batch, comm.rank(), comm.size());
        return model.train_step(data->batch(rng, iteration, shard), rng, iteration, shard, comm);
      },
      save);
  if (outcome != TrainOutcome::kFinished) return {outcome, {}};

  if (verbose)
    std::printf("tilt: evaluating (the test ELBO; %lld samples, %d reverse steps)\n",
                static_cast<long long>(config.eval_samples), config.sampler_steps);
  Metrics final_metrics = data->evaluate_elbo(model, rng, comm);
  const BatchShard sample_shard = shard_batch(config.eval_samples, comm.rank(), comm.size());
  at::Tensor samples;
  for (const auto& metric :
       data->evaluate_samples(model.sample(rng, kSamplingDraws, sample_shard, config.sampler_steps), rng,
                              config.eval_samples, comm, &samples))
    final_metrics.push_back(metric);
  on_root_for_all(comm, "write the samples", [&] {
    io::write_atomically(options.run_dir / run_files::kSamples, [&](io::H5File& file) {
      data->write_samples(file, samples);
      file.write_string("/config", resolved);
    });
  });
  on_root_for_all(comm, "write the evaluation",
                  [&] { write_final_metrics(options.run_dir, final_metrics, verbose); });
  return {TrainOutcome::kFinished, final_metrics};
}

}  // namespace tilt::mdm
