#!/usr/bin/env bash
# Reproduces docs/reproductions/tn_fredkin/: exact denoising of the 64-site Fredkin chain at c = 1/2
# (configs/tn/fredkin_n64.yaml) on 2 MPI ranks, then its report (height profiles, Dyck-path shares
# and overlap against the noise time). See docs/tn.md for the measured numbers and wall time.
#   bash launch/reproduce/tn_fredkin.sh [RUN_DIR]    (default runs/tn_fredkin)
set -euo pipefail
cd "$(dirname "$0")/../.."
run_dir=${1:-runs/tn_fredkin}
bash launch/setup.sh
bash launch/build.sh build
started=$SECONDS
mpirun --allow-run-as-root -np 2 build/src/tilt train configs/tn/fredkin_n64.yaml --out "$run_dir" --replace
echo "run wall time: $((SECONDS - started)) s"
build/src/tilt report "$run_dir" --out docs/reproductions/tn_fredkin
