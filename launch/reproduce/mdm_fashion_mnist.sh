#!/usr/bin/env bash
# Reproduces docs/reproductions/mdm_fashion_mnist/: every multivariate diffusion (VPSDE, CLD, ALDA,
# MALDA, learned K = 2, 3) on Fashion-MNIST with the same U-Net and budget
# (configs/sweeps/mdm_fashion_mnist.yaml), each row on 2 MPI ranks here, one row at a time, then the
# report with the sample grids. See docs/mdm.md for the measured wall time on this project's
# 2-core machine.
#   bash launch/reproduce/mdm_fashion_mnist.sh [SWEEP_DIR]    (default sweeps/mdm_fashion_mnist)
exec bash "$(dirname "$0")/sweep_and_report.sh" mdm_fashion_mnist "$@"
