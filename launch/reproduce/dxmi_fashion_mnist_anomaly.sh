#!/usr/bin/env bash
# Reproduces docs/reproductions/dxmi_fashion_mnist_anomaly/: one-class anomaly detection with DxMI's
# energy, one row per Fashion-MNIST class (configs/sweeps/dxmi_fashion_mnist_anomaly.yaml), each on
# 2 MPI ranks here, one row at a time, then the report (auroc_anomaly per class and their mean).
# About 25 minutes on this project's 2-core machine.
#   bash launch/reproduce/dxmi_fashion_mnist_anomaly.sh [SWEEP_DIR]
exec bash "$(dirname "$0")/sweep_and_report.sh" dxmi_fashion_mnist_anomaly "$@"
