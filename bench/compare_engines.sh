#!/usr/bin/env bash
# The fused engine beside the plain LibTorch path of the same jobs, in one sitting: bench_iteration
# on the 25GMM TB sampler and the 25 -> 9 RTB task, 1 and 2 ranks, each engine ROUNDS times in
# alternation, and the lean PyTorch 25 -> 9 script between them; prints every run and the medians.
#   bash bench/compare_engines.sh [BUILD_DIR] [ROUNDS]        (from the repository root; default build 3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for round in $(seq "$rounds"); do
  for config in configs/samplers/gmm25_tb.yaml configs/rtb/gmm25_to_gmm9.yaml; do
    for ranks in 1 2; do
      for engine in fused libtorch; do
        line=$(mpirun -np "$ranks" "$build/bench/bench_iteration" "$config" --iterations 20 \
                 --set network.engine="$engine" 2>&1 | awk '/^iteration /{print $2, $7}')
        echo "$(basename "$config" .yaml) ranks=$ranks engine=$engine iteration_ms,x_floor $line" | tee -a "$log"
      done
    done
  done
  lean=$(taskset -c 0 /usr/bin/python3 bench/reference/lean_rtb.py --iterations 20 | awk '{print $(NF-1)}')
  echo "gmm25_to_gmm9 lean_pytorch ranks=1 iteration_ms $lean" | tee -a "$log"
done
echo "# medians over $rounds rounds"
/usr/bin/python3 - "$log" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    words = line.split()
    key = " ".join(words[:3])
    runs.setdefault(key, []).append([float(v) for v in words[4:]])
for key, values in runs.items():
    columns = list(zip(*values))
    print(key, " ".join(f"{statistics.median(c):.2f}" for c in columns))
PY
