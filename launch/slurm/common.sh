# Sourced by the batch scripts in this folder: finds tilt, sets up the environment of its ranks and
# defines run_step, which makes preemption harmless.
#
# Environment a site may set before sbatch (exported into the job):
#   TILT_SOURCE_DIR  this repository (default: the directory sbatch was called from)
#   TILT             the tilt executable (default: $TILT_SOURCE_DIR/build/src/tilt)
# Ranks and threads: one MPI rank per Slurm task; each rank gives its cores (--cpus-per-task, seen as
# its affinity mask) to LibTorch's threads. GPU jobs: one rank per GPU (--gpus-per-task=1), so each
# rank sees exactly its own device. Fabrics (set by the site, shown here for reference):
#   UCX_TLS=rc,sm,self UCX_NET_DEVICES=mlx5_0:1 OMPI_MCA_pml=ucx   InfiniBand through UCX
#   NCCL_SOCKET_IFNAME=ib0 NCCL_IB_HCA=mlx5 NCCL_DEBUG=WARN         NCCL between GPUs
TILT_SOURCE_DIR=${TILT_SOURCE_DIR:-$SLURM_SUBMIT_DIR}
TILT=${TILT:-$TILT_SOURCE_DIR/build/src/tilt}
# Since Slurm 22.05 srun does not inherit --cpus-per-task from the batch allocation.
export SRUN_CPUS_PER_TASK=${SLURM_CPUS_PER_TASK:-1}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}

# run_step COMMAND...: runs the job step in the background so that the batch shell can take the
# signal sbatch --signal=B:USR1@90 sends before a time limit (or a preemption's SIGTERM) and pass it
# on as SIGUSR1. tilt then writes a checkpoint and exits with 75; the job is requeued, and the
# requeued job's `tilt train --auto-resume` continues from that checkpoint.
run_step() {
  "$@" &
  local step=$! status=0
  trap 'kill -USR1 "$step" 2>/dev/null' USR1 TERM
  # wait returns early when a trapped signal arrives; the step goes on until it has checkpointed.
  while kill -0 "$step" 2>/dev/null; do wait "$step"; done
  # bash keeps the status of a reaped child: this is the step's own, whatever interrupted the loop.
  wait "$step"
  status=$?
  trap - USR1 TERM
  if [[ $status -eq 75 ]]; then
    echo "tilt: stopped before the end; requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
  fi
  return "$status"
}
