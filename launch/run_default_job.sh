#!/usr/bin/env bash
# Installs, builds and runs the default job: RTB fine-tuning of the 25-mode Gaussian-mixture prior
# towards its posterior under a Gaussian likelihood, on 2 MPI ranks (CPU). The run directory is
# runs/default (or $1); an existing one is replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
bash launch/build.sh build
run_dir=${1:-runs/default}
rm -rf "$run_dir"
mpirun --allow-run-as-root --oversubscribe -np 2 build/src/tilt train configs/rtb/gmm25_gaussian.yaml --out "$run_dir"
echo "evaluation (tilt eval $run_dir):"
mpirun --allow-run-as-root --oversubscribe -np 2 build/src/tilt eval "$run_dir"
