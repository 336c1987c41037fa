#!/usr/bin/env bash
# Reproduces docs/reproductions/dxmi_2d/: DxMI on 8gaussians, checkerboard and 2spirals at T = 4,
# with and without the entropy term, beside the prior read at DDPM's uniform stride, 3 seeds each
# (configs/sweeps/dxmi_2d.yaml), each row on 2 MPI ranks here, one row at a time, then the report.
# About 33 minutes on this project's 2-core machine (launch/reproduce/dxmi_2d_guidance.sh then
# evaluates its DxMI rows under value guidance).
#   bash launch/reproduce/dxmi_2d.sh [SWEEP_DIR]    (default sweeps/dxmi_2d)
exec bash "$(dirname "$0")/sweep_and_report.sh" dxmi_2d "$@"
