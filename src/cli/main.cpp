// tilt: train / sample / eval. Runs as one process or as N MPI ranks under mpirun or srun.
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/blas_kernels.h"
#include "core/config.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "dist/gather.h"
#include "train/evaluate.h"
#include "train/job.h"
#include "train/trainer.h"

namespace {

using tilt::Communicator;

// A finished (or checkpointed) run directory's job, with its trained parameters loaded.
tilt::Job load_run(const std::filesystem::path& run_dir) {
  if (!std::filesystem::exists(run_dir / tilt::run_files::kCheckpoint))
    throw tilt::Error("'" + run_dir.string() + "' is not a run directory with a checkpoint");
  tilt::Job job(tilt::load_config(run_dir / tilt::run_files::kConfig));
  tilt::load_parameters(job, run_dir / tilt::run_files::kCheckpoint);
  return job;
}

int run_train(const std::string& config_path, const std::vector<std::string>& overrides, std::string out,
              const std::string& resume, bool quiet, Communicator& comm) {
  tilt::TrainOptions options;
  options.quiet = quiet;
  std::filesystem::path config_file = config_path;
  if (!resume.empty()) {
    options.resume = true;
    options.run_dir = resume;
    if (config_path.empty()) config_file = options.run_dir / tilt::run_files::kConfig;
  } else {
    if (config_path.empty()) throw tilt::Error("train: give a CONFIG.yaml, or --resume RUN_DIR");
    options.run_dir =
        out.empty() ? std::filesystem::path("runs") / config_file.stem() : std::filesystem::path(out);
  }
  const tilt::Config config = tilt::load_config(config_file, overrides);
  tilt::train(config, options, comm);
  return 0;
}

int run_sample(const std::string& run_dir, int64_t n, const std::string& out, Communicator& comm) {
  tilt::configure_threads(comm);
  tilt::Job job = load_run(run_dir);
  const tilt::BatchShard shard = tilt::shard_batch(n, comm.rank(), comm.size());
  const tilt::Trajectory paths = job.sample(1, shard);
  const std::vector<float> samples = tilt::gather_rows(paths.states[paths.steps()], comm);
  if (comm.is_root()) {
    tilt::write_samples(out, samples, job.config().dim(), job.config());
    std::printf("wrote %lld samples to %s (dataset /samples)\n", static_cast<long long>(n), out.c_str());
  }
  return 0;
}

int run_eval(const std::string& run_dir, int64_t n, Communicator& comm) {
  tilt::configure_threads(comm);
  tilt::Job job = load_run(run_dir);
  const tilt::Evaluation evaluation = tilt::evaluate(job, comm, n > 0 ? n : job.config().eval.samples);
  if (comm.is_root()) std::printf("%s\n", tilt::metrics_json(evaluation.metrics).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  CLI::App app{"tilt: diffusion models trained with reinforcement-learning objectives, on MPI ranks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", TILT_VERSION);

  std::string config_path, out, resume;
  std::vector<std::string> overrides;
  bool quiet = false;
  CLI::App* train = app.add_subcommand("train", "Train a config into a run directory");
  train->add_option("config", config_path, "YAML config (see configs/); optional with --resume");
  train->add_option("--set", overrides, "Override a config key: --set train.iterations=100 (repeatable)");
  train->add_option("--out", out, "Run directory (default runs/<config name>)");
  train->add_option("--resume", resume, "Continue the run in RUN_DIR from its latest checkpoint");
  train->add_flag("--quiet", quiet, "No progress output");

  std::string run_dir, samples_out;
  int64_t n = 0;
  CLI::App* sample = app.add_subcommand("sample", "Draw samples from a trained run");
  sample->add_option("run_dir", run_dir, "Run directory")->required();
  sample->add_option("--n", n, "Number of samples")->required()->check(CLI::PositiveNumber);
  sample->add_option("--out", samples_out, "Output HDF5 file (dataset /samples, N x D float32)")->required();

  int64_t eval_samples = 0;
  CLI::App* eval = app.add_subcommand("eval", "Evaluate a trained run against ground truth; JSON on stdout");
  eval->add_option("run_dir", run_dir, "Run directory")->required();
  eval->add_option("--samples", eval_samples, "Samples to draw (default: the config's eval.samples)")
      ->check(CLI::PositiveNumber);

  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<Communicator> comm = tilt::make_mpi_world();
  try {
    if (train->parsed()) return run_train(config_path, overrides, out, resume, quiet, *comm);
    if (sample->parsed()) return run_sample(run_dir, n, samples_out, *comm);
    return run_eval(run_dir, eval_samples, *comm);
  } catch (const c10::Error& e) {
    // LibTorch's own errors carry a C++ backtrace that says nothing to a user.
    comm->abort(e.what_without_backtrace());
  } catch (const std::exception& e) {
    // Every rank usually fails the same way: rank 0 reports and aborts the job, and the others wait
    // a moment so that only one line is printed, reporting themselves only if they failed alone.
    if (!comm->is_root()) std::this_thread::sleep_for(std::chrono::seconds(2));
    comm->abort(e.what());
  }
}
