#!/usr/bin/env bash
# Reproduces docs/reproductions/mdm_2d/: every multivariate diffusion (VPSDE, CLD, ALDA, MALDA,
# learned K = 2, 3) on 8gaussians and checkerboard (configs/sweeps/mdm_2d.yaml), each row on 2 MPI
# ranks here, one row at a time, then the report. About 10 minutes on this project's 2-core machine.
#   bash launch/reproduce/mdm_2d.sh [SWEEP_DIR]    (default sweeps/mdm_2d)
exec bash "$(dirname "$0")/sweep_and_report.sh" mdm_2d "$@"
