#!/usr/bin/env bash
# Reproduces docs/reproductions/dxmi_fashion_mnist/: DxMI on Fashion-MNIST at T = 10 on 2 MPI ranks.
# First the DDPM prior (denoising score matching, 4000 iterations; its eval.json holds the 10-step
# and the 100-step reading of it), then DxMI from that prior (configs/sweeps/dxmi_fashion_mnist.yaml),
# then each run's report with its sample grid. About 50 minutes on this project's 2-core machine
# (prior ~27, DxMI ~21). Re-running continues: finished runs and rows are kept.
#   bash launch/reproduce/dxmi_fashion_mnist.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash launch/setup.sh
bash launch/build.sh build
started=$SECONDS
prior=runs/fashion_mnist_prior
if [[ ! -s $prior/eval.json ]]; then
  mpirun --allow-run-as-root --oversubscribe -np 2 build/src/tilt train configs/dxmi/fashion_mnist_t10.yaml \
    --out "$prior" --set train.iterations=0 --auto-resume
fi
echo "prior wall time: $((SECONDS - started)) s"
build/src/tilt sweep configs/sweeps/dxmi_fashion_mnist.yaml --out sweeps/dxmi_fashion_mnist --local
echo "total wall time: $((SECONDS - started)) s"
build/src/tilt report "$prior" --out docs/reproductions/dxmi_fashion_mnist/prior
for row in sweeps/dxmi_fashion_mnist/rows/*/; do
  build/src/tilt report "$row" --out "docs/reproductions/dxmi_fashion_mnist/dxmi_row_$(basename "$row")"
done
