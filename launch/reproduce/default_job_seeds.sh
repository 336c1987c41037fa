#!/usr/bin/env bash
# Reproduces docs/reproductions/default_job_seeds/: the default job over 3 seeds x 2 observations
# (configs/sweeps/default_job_seeds.yaml), each row on 2 MPI ranks here, one row at a time, then
# the report. About 20 minutes on this project's 2-core machine.
#   bash launch/reproduce/default_job_seeds.sh [SWEEP_DIR]    (default sweeps/default_job_seeds)
exec bash "$(dirname "$0")/sweep_and_report.sh" default_job_seeds "$@"
