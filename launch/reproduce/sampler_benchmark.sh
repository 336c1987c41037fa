#!/usr/bin/env bash
# Reproduces docs/reproductions/sampler_benchmark/: Sendera et al.'s Table 1 methods on 25GMM, Funnel
# and Manywell at a reduced budget (configs/sweeps/sampler_benchmark.yaml), one row at a time on one
# MPI rank each, then the report (tables and figures) into the docs. Several hours on this project's
# 2-core machine (the wall time of the recorded run is in the report's README).
#   bash launch/reproduce/sampler_benchmark.sh [SWEEP_DIR]    (default sweeps/sampler_benchmark)
# On a cluster: tilt sweep configs/sweeps/sampler_benchmark.yaml --slurm
set -euo pipefail
cd "$(dirname "$0")/../.."
bash launch/setup.sh
bash launch/build.sh build
sweep_dir=${1:-sweeps/sampler_benchmark}
started=$SECONDS
# Re-running continues: finished rows are skipped.
build/src/tilt sweep configs/sweeps/sampler_benchmark.yaml --out "$sweep_dir" --local
echo "sweep wall time: $((SECONDS - started)) s"
build/src/tilt report "$sweep_dir" --out docs/reproductions/sampler_benchmark
