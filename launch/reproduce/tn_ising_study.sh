#!/usr/bin/env bash
# Reproduces docs/reproductions/tn_ising_study/: tensor-network Monte Carlo on the Ising cylinder at
# beta_c for L = 8, 12, 16 (configs/sweeps/tn_ising_study.yaml), each row on 2 MPI ranks here, one
# row at a time, then the report with the acceptance / autocorrelation figure. See docs/tn.md for the
# measured wall time on this project's 2-core machine.
#   bash launch/reproduce/tn_ising_study.sh [SWEEP_DIR]    (default sweeps/tn_ising_study)
exec bash "$(dirname "$0")/sweep_and_report.sh" tn_ising_study "$@"
