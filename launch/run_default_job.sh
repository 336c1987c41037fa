#!/usr/bin/env bash
# Installs, builds and runs the default job: RTB fine-tuning of the 25-mode Gaussian-mixture prior
# towards its posterior under a Gaussian likelihood, on 2 MPI ranks (CPU). The run directory is
# runs/default (or $1); an existing one is replaced. The report (samples over the exact density,
# training curves) goes to RUN_DIR/report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
bash launch/build.sh build
run_dir=${1:-runs/default}
mpirun --allow-run-as-root --oversubscribe -np 2 build/src/tilt train configs/rtb/gmm25_gaussian.yaml --out "$run_dir" --replace
echo "evaluation (tilt eval $run_dir):"
mpirun --allow-run-as-root --oversubscribe -np 2 build/src/tilt eval "$run_dir"
echo "report (tilt report $run_dir): tables and figures in $run_dir/report"
build/src/tilt report "$run_dir"
