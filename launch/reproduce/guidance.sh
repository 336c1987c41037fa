#!/usr/bin/env bash
# Reproduces docs/reproductions/guidance_*/ (docs/guidance.md): guidance with exact scores — the
# Gaussian mixture (Theorem 2), the separated intervals (Theorem 1), the intervals with a small score
# error (Theorem 3), the three squares in the plane with the probability-flow ODE and with the reverse
# SDE — and classifier-free guidance learned on the squares and on Fashion-MNIST (a conditional
# U-Net: ~25 min of the total), scanned by the same tool; each on 2 MPI ranks, then each run's report
# (final samples — for images the visual sweep —, mean projected trajectories, the shares against w,
# the prescribed scale). docs/guidance.md has the measured numbers and wall times.
#   bash launch/reproduce/guidance.sh [RUNS_DIR]    (default runs/guidance)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-runs/guidance}
bash launch/setup.sh
bash launch/build.sh build
for name in gaussians_1d intervals_1d intervals_1d_score_error squares_2d squares_2d_sde squares_2d_learned \
  fashion_mnist_learned; do
  started=$SECONDS
  mpirun --allow-run-as-root -np 2 build/src/tilt train "configs/guidance/$name.yaml" --out "$runs/$name" --replace
  echo "$name: run wall time $((SECONDS - started)) s"
  build/src/tilt report "$runs/$name" --out "docs/reproductions/guidance_$name"
done
# The tool on the trained Fashion-MNIST model: a finer scan of w below the first scan's failures,
# with more samples, nothing trained again (--resume of the finished run with a new sampling section).
started=$SECONDS
mpirun --allow-run-as-root -np 2 build/src/tilt train configs/guidance/fashion_mnist_learned.yaml \
  --resume "$runs/fashion_mnist_learned" --set 'sampling.scales=[0, 0.25, 0.5, 0.75, 1, 1.5, 2]' \
  --set sampling.samples=512
echo "fashion_mnist_learned rescan: wall time $((SECONDS - started)) s"
build/src/tilt report "$runs/fashion_mnist_learned" --out docs/reproductions/guidance_fashion_mnist_learned_rescan
