// Running a sweep's rows: here (`tilt sweep --local -j K`), or as one Slurm job array
// (`tilt sweep --slurm`) whose task i runs row i through `tilt sweep-row`. Either way a row is
// `tilt train <base config> --out rows/NNN --auto-resume --set ...` on the sweep's ranks, so a
// preempted or failed row continues from its checkpoint when run again.
#pragma once

#include <string>
#include <vector>

#include "sweep/sweep_directory.h"

namespace tilt::sweep {

enum class Launcher {
  kMpirun,  // mpirun -np <ranks> (outside Slurm)
  kSrun,    // srun --mpi=pmix inside a Slurm allocation of <ranks> tasks
};

// Runs one row to its end and records its status; forwards SIGINT/SIGTERM/SIGUSR1 to it. Returns
// tilt's exit status (kExitStopped when the row was stopped to be requeued). With mpirun, a non-empty
// `cpu_set` ("0,1") binds the row's ranks to those cores.
int run_row(const SweepDirectory& sweep, int index, Launcher launcher, const std::string& cpu_set = "");

// The cores each of `jobs` concurrent local rows gets, as mpirun --cpu-set lists: the cores this
// process may use, split into equal contiguous shares (each row's ranks are bound within its share;
// without this every mpirun binds its rank 0 to the same first core). Empty strings when there are
// fewer cores than jobs x ranks: the rows then share them unbound.
std::vector<std::string> local_cpu_sets(const std::vector<int>& cores, int jobs, int ranks);

// Rows that still need running: neither finished nor running in a live process or Slurm job.
std::vector<int> rows_to_run(const SweepDirectory& sweep);

// Runs rows_to_run() here, `jobs` at a time. Returns 0 when every row of the sweep is finished.
int run_local(const SweepDirectory& sweep, int jobs);

// Submits rows_to_run() as one job array (launch/slurm/sweep_array.sbatch) with the sweep's
// resources; `throttle` > 0 overrides the spec's. With dry_run, prints the sbatch command instead.
// Returns 0 on submission.
int submit_slurm(const SweepDirectory& sweep, int throttle, bool dry_run);

}  // namespace tilt::sweep
