// tilt: train / sample / eval run as one process or as N MPI ranks under mpirun or srun; sweep and
// report organise many runs and never start MPI themselves.
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/config.h"
#include "core/cpu_setup.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "dist/gather.h"
#include "io/run_files.h"
#include "methods/methods.h"
#include "sweep/install_paths.h"
#include "sweep/process.h"
#include "sweep/runner.h"
#include "train/evaluate.h"
#include "train/job.h"
#include "train/provenance.h"
#include "train/trainer.h"

namespace {

using tilt::Communicator;

// A finished (or checkpointed) run directory's job, with its trained parameters loaded.
std::unique_ptr<tilt::Job> load_run(const std::filesystem::path& run_dir) {
  if (!std::filesystem::exists(run_dir / tilt::run_files::kCheckpoint))
    throw tilt::Error("'" + run_dir.string() + "' is not a run directory with a checkpoint");
  const std::string method = tilt::config_method(run_dir / tilt::run_files::kConfig);
  if (!method.empty())
    throw tilt::Error("'" + run_dir.string() + "' is a " + method +
                      " run: its evaluation is eval.json (written when training ends); sample and "
                      "eval take sampler runs");
  auto job = std::make_unique<tilt::Job>(tilt::load_config(run_dir / tilt::run_files::kConfig));
  tilt::load_parameters(*job, run_dir / tilt::run_files::kCheckpoint);
  return job;
}

struct TrainArguments {
  std::string config_path, out, resume;
  std::vector<std::string> overrides;
  bool replace = false, auto_resume = false, quiet = false;
};

int run_train(const TrainArguments& args, Communicator& comm) {
  tilt::TrainOptions options;
  options.quiet = args.quiet;
  std::filesystem::path config_file = args.config_path;
  if (!args.resume.empty()) {
    options.start = tilt::StartMode::kResume;
    options.run_dir = args.resume;
    if (args.config_path.empty()) config_file = options.run_dir / tilt::run_files::kConfig;
  } else {
    if (args.config_path.empty()) throw tilt::Error("train: give a CONFIG.yaml, or --resume RUN_DIR");
    options.run_dir = args.out.empty() ? std::filesystem::path("runs") / config_file.stem()
                                       : std::filesystem::path(args.out);
    options.start = args.replace       ? tilt::StartMode::kReplace
                    : args.auto_resume ? tilt::StartMode::kAutoResume
                                       : tilt::StartMode::kFresh;
  }
  // The config's `method` picks the training loop (methods/methods.h).
  const tilt::TrainResult result = tilt::train_config_file(config_file, args.overrides, options, comm);
  switch (result.outcome) {
    case tilt::TrainOutcome::kFinished:
      return 0;
    case tilt::TrainOutcome::kStopped:
      return tilt::kExitStopped;
    case tilt::TrainOutcome::kInterrupted:
      return tilt::kExitInterrupted;
  }
  return 1;
}

int run_sample(const std::string& run_dir, int64_t n, const std::string& out, Communicator& comm) {
  tilt::configure_threads(tilt::cores_per_rank(comm));
  const std::unique_ptr<tilt::Job> loaded = load_run(run_dir);
  const tilt::Job& job = *loaded;
  const tilt::BatchShard shard = tilt::shard_batch(n, comm.rank(), comm.size());
  const tilt::Trajectory paths = job.sample(1, shard);
  const std::vector<float> samples = tilt::gather_rows(paths.states[paths.steps()], comm);
  const tilt::Provenance provenance = tilt::collect_provenance(job.config(), 0, comm);
  if (comm.is_root()) {
    tilt::write_samples(out, samples, job, provenance);
    std::printf("wrote %lld samples to %s (dataset /samples)\n", static_cast<long long>(n), out.c_str());
  }
  return 0;
}

int run_eval(const std::string& run_dir, int64_t n, Communicator& comm) {
  tilt::configure_threads(tilt::cores_per_rank(comm));
  const std::unique_ptr<tilt::Job> job_of_run = load_run(run_dir);
  tilt::Job& job = *job_of_run;
  const tilt::Evaluation evaluation = tilt::evaluate(job, comm, n > 0 ? n : job.config().eval.samples);
  if (comm.is_root()) std::printf("%s\n", tilt::metrics_json(evaluation.metrics).c_str());
  return 0;
}

struct SweepArguments {
  std::string spec, out;
  bool local = false, slurm = false, dry_run = false;
  int jobs = 1, throttle = 0;
};

int run_sweep(const SweepArguments& args) {
  const tilt::sweep::SweepSpec spec = tilt::sweep::load_sweep_spec(args.spec);
  const std::vector<tilt::sweep::SweepRow> rows = tilt::sweep::expand(spec);
  // Every row's config is validated before the sweep directory is made.
  for (const auto& row : rows) {
    try {
      tilt::validate_config_file(spec.config, row.overrides);
    } catch (const tilt::Error& e) {
      throw tilt::Error("sweep row " + tilt::sweep::row_name(row.index) + ": " + e.what());
    }
  }
  const std::filesystem::path dir =
      args.out.empty() ? std::filesystem::path("sweeps") / spec.name : std::filesystem::path(args.out);
  const auto sweep = tilt::sweep::SweepDirectory::create(dir, spec, args.spec);
  if (args.local) return tilt::sweep::run_local(sweep, args.jobs);
  if (args.slurm) return tilt::sweep::submit_slurm(sweep, args.throttle, args.dry_run);
  std::printf("tilt sweep: %s: %zu rows in %s (run them with --local or --slurm)\n", spec.name.c_str(),
              rows.size(), dir.c_str());
  return 0;
}

int run_sweep_row(const std::string& dir, int index, const std::string& launcher) {
  const auto sweep = tilt::sweep::SweepDirectory::open(dir);
  const tilt::ForwardStopSignals forward;
  return tilt::sweep::run_row(
      sweep, index, launcher == "srun" ? tilt::sweep::Launcher::kSrun : tilt::sweep::Launcher::kMpirun);
}

// The tables and figures are drawn by the Python package in python/ (pandas, matplotlib).
int run_report(const std::string& path, const std::string& out) {
  if (!std::filesystem::exists(path)) throw tilt::Error("report: no such run or sweep directory: " + path);
  const char* python = std::getenv("TILT_PYTHON");
  std::vector<std::string> argv{python && *python ? python : "/usr/bin/python3", "-m", "tilt_analysis",
                                "report", path};
  if (!out.empty()) {
    argv.push_back("--out");
    argv.push_back(out);
  }
  const std::string package = tilt::python_package_dir().string();
  const char* existing = std::getenv("PYTHONPATH");
  setenv("PYTHONPATH", (existing && *existing ? package + ":" + existing : package).c_str(), 1);
  return tilt::wait_for(tilt::spawn(argv));
}

}  // namespace

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  CLI::App app{"tilt: diffusion models trained with reinforcement-learning objectives, on MPI ranks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", TILT_VERSION);

  TrainArguments t;
  CLI::App* train = app.add_subcommand("train", "Train a config into a run directory");
  train->add_option("config", t.config_path, "YAML config (see configs/); optional with --resume");
  train->add_option("--set", t.overrides, "Override a config key: --set train.iterations=100 (repeatable)");
  train->add_option("--out", t.out, "Run directory (default runs/<config name>)");
  CLI::Option* resume =
      train->add_option("--resume", t.resume, "Continue the run in RUN_DIR from its latest checkpoint");
  CLI::Option* replace =
      train->add_flag("--replace", t.replace, "Delete the run files already in --out, then start afresh");
  CLI::Option* auto_resume = train->add_flag("--auto-resume", t.auto_resume,
                                             "Continue --out's checkpoint if it has one (same seed, process, "
                                             "network), else start: for requeued jobs");
  resume->excludes(replace)->excludes(auto_resume);
  replace->excludes(auto_resume);
  train->add_flag("--quiet", t.quiet, "No progress output");

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

  SweepArguments w;
  CLI::App* sweep =
      app.add_subcommand("sweep", "Expand a sweep file into runs and run them here or on Slurm");
  sweep->add_option("spec", w.spec, "Sweep YAML (see configs/sweeps/)")->required()->check(CLI::ExistingFile);
  sweep->add_option("--out", w.out, "Sweep directory (default sweeps/<name>)");
  CLI::Option* local = sweep->add_flag("--local", w.local, "Run the rows on this machine (mpirun)");
  sweep->add_option("-j,--jobs", w.jobs, "Rows at once with --local")->check(CLI::PositiveNumber);
  CLI::Option* slurm = sweep->add_flag("--slurm", w.slurm, "Submit the rows as one Slurm job array");
  sweep->add_option("--throttle", w.throttle, "Most array tasks running at once (default: the spec's)")
      ->check(CLI::PositiveNumber);
  sweep->add_flag("--dry-run", w.dry_run, "With --slurm: print the sbatch command instead of running it");
  local->excludes(slurm);
  sweep->footer("Run again to continue: finished rows are skipped, failed and preempted ones retried.");

  std::string row_dir, launcher = "mpirun";
  int row_index = 0;
  // Run by the Slurm array script (launch/slurm/sweep_array.sbatch); hidden from --help.
  CLI::App* sweep_row = app.add_subcommand("sweep-row", "")->group("");
  sweep_row->add_option("sweep_dir", row_dir)->required();
  sweep_row->add_option("index", row_index)->required();
  sweep_row->add_option("--launcher", launcher)->check(CLI::IsMember({"mpirun", "srun"}));

  std::string report_path, report_out;
  CLI::App* report =
      app.add_subcommand("report", "Tables and figures of a run or sweep directory (Markdown, CSV, PNG)");
  report->add_option("path", report_path, "Run or sweep directory")->required();
  report->add_option("--out", report_out, "Report directory (default PATH/report)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (sweep->parsed()) return run_sweep(w);
    if (sweep_row->parsed()) return run_sweep_row(row_dir, row_index, launcher);
    if (report->parsed()) return run_report(report_path, report_out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tilt: error: %s\n", e.what());
    return 1;
  }

  std::unique_ptr<Communicator> comm = tilt::make_mpi_world();
  try {
    if (train->parsed()) return run_train(t, *comm);
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
