#!/usr/bin/env bash
# The Slurm templates' equivalent outside Slurm: tilt train on N MPI ranks of this machine, resuming
# RUN_DIR's checkpoint if it has one. SIGTERM/SIGUSR1 to mpirun: checkpoint and exit 75; run the
# same command again to continue.
#   launch/run_mpirun.sh N CONFIG.yaml RUN_DIR [--set key=value ...]
set -euo pipefail
ranks=${1:?usage: run_mpirun.sh N CONFIG.yaml RUN_DIR [--set key=value ...]}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
tilt=${TILT:-$source_dir/build/src/tilt}
root_flag=()
[[ $(id -u) -eq 0 ]] && root_flag=(--allow-run-as-root)
exec mpirun "${root_flag[@]}" -np "$ranks" --bind-to core "$tilt" train "$2" --out "$3" --auto-resume "${@:4}"
