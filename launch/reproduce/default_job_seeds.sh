#!/usr/bin/env bash
# Reproduces docs/reproductions/default_job_seeds/: the default job over 3 seeds x 2 observations
# (configs/sweeps/default_job_seeds.yaml), each row on 2 MPI ranks here, one row at a time, then
# the report (tables and figures) into the docs. About 20 minutes on this project's 2-core machine.
#   bash launch/reproduce/default_job_seeds.sh [SWEEP_DIR]    (default sweeps/default_job_seeds)
# On a cluster: tilt sweep configs/sweeps/default_job_seeds.yaml --slurm
set -euo pipefail
cd "$(dirname "$0")/../.."
bash launch/setup.sh
bash launch/build.sh build
sweep_dir=${1:-sweeps/default_job_seeds}
started=$SECONDS
# Re-running continues: finished rows are skipped.
build/src/tilt sweep configs/sweeps/default_job_seeds.yaml --out "$sweep_dir" --local
echo "sweep wall time: $((SECONDS - started)) s"
build/src/tilt report "$sweep_dir" --out docs/reproductions/default_job_seeds
