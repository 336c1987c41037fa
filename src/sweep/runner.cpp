#include "sweep/runner.h"

#include <sched.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "sweep/install_paths.h"
#include "sweep/process.h"

namespace tilt::sweep {
namespace {

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::vector<std::string> launcher_argv(Launcher launcher, int ranks, const std::string& cpu_set) {
  if (launcher == Launcher::kSrun)
    // The allocation fixes the task count; a rank that dies ends the step (and so the row).
    return {"srun", "--mpi=pmix", "--kill-on-bad-exit=1"};
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks)};
  if (!cpu_set.empty()) argv.insert(argv.end(), {"--cpu-set", cpu_set, "--bind-to", "core"});
  // Open MPI refuses to run as root unless told; containers and CI runners often are root.
  if (geteuid() == 0) argv.push_back("--allow-run-as-root");
  return argv;
}

// Whether a Slurm job (pending, running, or waiting for its requeue) still owns the row: squeue
// also lists jobs that ended a while ago, in states like COMPLETED or FAILED.
bool slurm_job_is_active(const std::string& job) {
  int exit_status = 0;
  std::string state;
  try {
    state = run_capturing({"squeue", "--noheader", "--jobs", job, "--format", "%T"}, exit_status);
  } catch (const Error&) {
    return false;  // no Slurm here: no job of it can still own the row
  }
  static const std::set<std::string> active = {"PENDING",   "RUNNING",   "CONFIGURING",  "COMPLETING",
                                               "SUSPENDED", "REQUEUED",  "REQUEUE_HOLD", "REQUEUE_FED",
                                               "RESIZING",  "SIGNALING", "STAGE_OUT"};
  std::istringstream lines(state);
  for (std::string line; lines >> line;)
    if (active.count(line)) return true;
  return false;
}

bool is_alive(const RowStatus& status) {
  if (status.state == "finished") return false;
  if (!status.slurm_job.empty()) return slurm_job_is_active(status.slurm_job);
  return status.state == "running" && status.host == hostname() && status.pid > 0 &&
         kill(static_cast<pid_t>(status.pid), 0) == 0;
}

// An argument as the shell reads it back unchanged: in single quotes, each ' written as '\''.
std::string shell_quoted(const std::string& arg) {
  if (!arg.empty() &&
      arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=/.,:%@+") ==
          std::string::npos)
    return arg;
  std::string quoted = "'";
  for (const char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string describe(int exit_status) {
  if (exit_status == kExitStopped) return "stopped to be requeued";
  if (exit_status == kExitInterrupted) return "interrupted by SIGINT after a checkpoint";
  if (exit_status > 128) return "ended by signal " + std::to_string(exit_status - 128);
  return "exit status " + std::to_string(exit_status);
}

}  // namespace

std::vector<std::string> local_cpu_sets(const std::vector<int>& cores, int jobs, int ranks) {
  std::vector<std::string> sets(static_cast<size_t>(std::max(1, jobs)));
  const size_t share = cores.size() / sets.size();
  if (sets.size() == 1 || share < static_cast<size_t>(ranks)) return sets;
  for (size_t j = 0; j < sets.size(); ++j)
    for (size_t c = 0; c < share; ++c) sets[j] += (c ? "," : "") + std::to_string(cores[j * share + c]);
  return sets;
}

int run_row(const SweepDirectory& sweep, int index, Launcher launcher, const std::string& cpu_set) {
  const ManifestRow& row = sweep.row(index);
  RowStatus status = sweep.status(index);
  status.state = "running";
  status.exit_code.reset();
  status.attempts += 1;
  status.host = hostname();
  status.pid = getpid();
  status.slurm_job.clear();
  if (launcher == Launcher::kSrun)
    status.slurm_job = environment("SLURM_ARRAY_JOB_ID").empty()
                           ? environment("SLURM_JOB_ID")
                           : environment("SLURM_ARRAY_JOB_ID") + "_" + environment("SLURM_ARRAY_TASK_ID");
  sweep.set_status(index, status);

  std::vector<std::string> argv = launcher_argv(launcher, sweep.ranks(), cpu_set);
  for (const std::string& arg :
       {tilt_executable().string(), std::string("train"), sweep.config().string(), std::string("--out"),
        sweep.run_dir(index).string(), std::string("--auto-resume")})
    argv.push_back(arg);
  for (const auto& assignment : row.overrides) {
    argv.push_back("--set");
    argv.push_back(assignment);
  }
  std::printf("tilt sweep: row %s started (attempt %d; progress in %s)\n", row_name(index).c_str(),
              status.attempts, sweep.log_path(index).c_str());
  std::fflush(stdout);
  int exit_status = 0;
  try {
    exit_status = wait_for(ForwardStopSignals::spawn_forwarded(argv, sweep.log_path(index)));
  } catch (const Error&) {
    status.state = "failed";
    sweep.set_status(index, status);
    throw;
  }

  status = sweep.status(index);  // "finished" when eval.json appeared
  status.exit_code = exit_status;
  if (status.state != "finished" || exit_status != 0)
    status.state = exit_status == kExitStopped       ? "preempted"
                   : exit_status == kExitInterrupted ? "interrupted"
                                                     : "failed";
  sweep.set_status(index, status);
  std::printf("tilt sweep: row %s %s (%s; log %s)\n", row_name(index).c_str(), status.state.c_str(),
              describe(exit_status).c_str(), sweep.log_path(index).c_str());
  std::fflush(stdout);
  return exit_status;
}

std::vector<int> rows_to_run(const SweepDirectory& sweep) {
  std::vector<int> out;
  for (const auto& row : sweep.rows()) {
    const RowStatus status = sweep.status(row.index);
    if (status.state != "finished" && !is_alive(status)) out.push_back(row.index);
  }
  return out;
}

int run_local(const SweepDirectory& sweep, int jobs) {
  const std::vector<int> pending = rows_to_run(sweep);
  const size_t total = sweep.rows().size();
  std::printf("tilt sweep: %s: %zu of %zu rows to run here, %d at a time, %d rank(s) each\n",
              sweep.name().c_str(), pending.size(), total, jobs, sweep.ranks());
  std::fflush(stdout);
  const ForwardStopSignals forward;
  std::mutex lock;
  size_t next = 0;
  std::exception_ptr failure;  // the first error of any worker: no new rows start after it
  cpu_set_t mask;
  CPU_ZERO(&mask);
  std::vector<int> cores;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) cores.push_back(c);
  const std::vector<std::string> cpu_sets = local_cpu_sets(cores, jobs, sweep.ranks());
  auto worker = [&](const std::string& cpu_set) {
    for (;;) {
      int index = 0;
      {
        const std::lock_guard<std::mutex> guard(lock);
        if (next == pending.size() || failure || ForwardStopSignals::stop_requested()) return;
        index = pending[next++];
      }
      try {
        run_row(sweep, index, Launcher::kMpirun, cpu_set);
      } catch (...) {
        const std::lock_guard<std::mutex> guard(lock);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> workers;
  for (const auto& cpu_set : cpu_sets) workers.emplace_back(worker, cpu_set);
  for (auto& thread : workers) thread.join();
  if (failure) std::rethrow_exception(failure);

  size_t finished = 0;
  for (const auto& row : sweep.rows()) finished += sweep.status(row.index).state == "finished";
  std::printf("tilt sweep: %zu of %zu rows finished%s\n", finished, total,
              finished == total ? "" : "; run the same command again to retry the others");
  return finished == total ? 0 : 1;
}

int submit_slurm(const SweepDirectory& sweep, int throttle, bool dry_run) {
  const std::vector<int> pending = rows_to_run(sweep);
  if (pending.empty()) {
    std::printf("tilt sweep: %s: every row is finished or running; nothing to submit\n",
                sweep.name().c_str());
    return 0;
  }
  std::string array;
  for (int index : pending) array += (array.empty() ? "" : ",") + std::to_string(index);
  const SlurmResources& s = sweep.slurm();
  if (throttle <= 0) throttle = s.throttle;
  if (throttle > 0) array += "%" + std::to_string(throttle);
  const std::filesystem::path dir = std::filesystem::absolute(sweep.path());
  std::vector<std::string> argv{"sbatch", "--parsable", "--job-name=tilt-" + sweep.name(), "--array=" + array,
                                "--ntasks=" + std::to_string(sweep.ranks()),
                                "--cpus-per-task=" + std::to_string(s.cpus_per_task), "--time=" + s.time,
                                "--output=" + (dir / "logs" / "slurm-%A_%a.out").string(),
                                // USR1 90 s before the time limit: checkpoint, exit 75, requeue.
                                "--signal=B:USR1@90", "--requeue"};
  if (!s.partition.empty()) argv.push_back("--partition=" + s.partition);
  if (!s.mem.empty()) argv.push_back("--mem=" + s.mem);
  if (s.gpus_per_task > 0) argv.push_back("--gpus-per-task=" + std::to_string(s.gpus_per_task));
  argv.insert(argv.end(), s.extra.begin(), s.extra.end());
  argv.push_back((slurm_script_dir() / "sweep_array.sbatch").string());
  argv.push_back(tilt_executable().string());
  argv.push_back(dir.string());
  argv.push_back(source_dir().string());
  if (dry_run) {
    std::string line;
    for (const auto& arg : argv) line += (line.empty() ? "" : " ") + shell_quoted(arg);
    std::printf("%s\n", line.c_str());
    return 0;
  }
  int exit_status = 0;
  const std::string output = run_capturing(argv, exit_status);
  if (exit_status != 0) throw Error("sbatch failed (" + describe(exit_status) + "); see its message above");
  const std::string job = output.substr(0, output.find_first_of(";\n"));
  // The rows belong to the array's tasks from now on: a re-run leaves them alone while squeue
  // shows the task pending, running or waiting for its requeue.
  for (int index : pending) {
    RowStatus status = sweep.status(index);
    status.state = "submitted";
    status.exit_code.reset();
    status.slurm_job = job + "_" + std::to_string(index);
    sweep.set_status(index, status);
  }
  std::printf("tilt sweep: %s: submitted rows %s as job array %s (squeue -j %s; logs in %s)\n",
              sweep.name().c_str(), array.c_str(), job.c_str(), job.c_str(), (dir / "logs").c_str());
  return 0;
}

}  // namespace tilt::sweep
