#!/usr/bin/env bash
# Reproduces docs/reproductions/sampler_benchmark/: Sendera et al.'s Table 1 methods on 25GMM, Funnel
# and Manywell at a reduced budget (configs/sweeps/sampler_benchmark.yaml), one MPI rank per row,
# then the report. Hours on this project's 2-core machine (the recorded wall time is in the docs).
#   bash launch/reproduce/sampler_benchmark.sh [SWEEP_DIR]    (default sweeps/sampler_benchmark)
exec bash "$(dirname "$0")/sweep_and_report.sh" sampler_benchmark "$@"
