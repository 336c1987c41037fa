#!/usr/bin/env bash
# Runs a shipped sweep here (one row at a time, as the sweep file says), then its report into the docs:
#   bash launch/reproduce/sweep_and_report.sh NAME [SWEEP_DIR]
# = tilt sweep configs/sweeps/NAME.yaml --out SWEEP_DIR --local + tilt report SWEEP_DIR --out docs/reproductions/NAME
# Re-running continues: finished rows are skipped. On a cluster: tilt sweep configs/sweeps/NAME.yaml --slurm
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: sweep_and_report.sh NAME [SWEEP_DIR]}
sweep_dir=${2:-sweeps/$name}
bash launch/setup.sh
bash launch/build.sh build
started=$SECONDS
build/src/tilt sweep "configs/sweeps/$name.yaml" --out "$sweep_dir" --local
echo "sweep wall time: $((SECONDS - started)) s"
build/src/tilt report "$sweep_dir" --out "docs/reproductions/$name"
