#!/usr/bin/env bash
# Reproduces docs/reproductions/dxmi_2d_guidance/ (docs/dxmi.md, "Value guidance"): the DxMI rows of
# the 2-D sweep (launch/reproduce/dxmi_2d.sh; the entropy-regularised runs, 3 seeds per data set)
# evaluated again under value guidance at several scales, nothing trained again: each finished run
# is copied and resumed with a new eval.guidance_scale (the same noise: paired with the unguided
# row). About 4 minutes on this project's 2-core machine once the sweep has run.
#   bash launch/reproduce/dxmi_2d_guidance.sh [SWEEP_DIR] [RUNS_DIR]   (default sweeps/dxmi_2d, runs/dxmi_2d_guidance)
set -euo pipefail
cd "$(dirname "$0")/../.."
sweep=${1:-sweeps/dxmi_2d}
runs=${2:-runs/dxmi_2d_guidance}
out=docs/reproductions/dxmi_2d_guidance
scales=(0 0.1 0.3 0.5 1 2)
[ -f "$sweep/manifest.json" ] || { echo "no sweep in $sweep: run launch/reproduce/dxmi_2d.sh first" >&2; exit 1; }
bash launch/setup.sh
bash launch/build.sh build
# The DxMI rows: trained (train.iterations not 0) with the entropy term (dxmi.tau_entropy not 0).
selected=$(python3 - "$sweep/manifest.json" <<'PY'
import json, sys
for row in json.load(open(sys.argv[1]))["rows"]:
    params = row["params"]
    if params.get("train.iterations") != "0" and params.get("dxmi.tau_entropy") != "0":
        print(row["run_dir"])
PY
)
[ -n "$selected" ] || { echo "$sweep/manifest.json lists no DxMI row with the entropy term" >&2; exit 1; }
mapfile -t rows <<< "$selected"
started=$SECONDS
mkdir -p "$runs"
for row in "${rows[@]}"; do
  [ -f "$sweep/$row/eval.json" ] || { echo "$sweep/$row has not finished: run the sweep first" >&2; exit 1; }
  for scale in "${scales[@]}"; do
    run="$runs/$(basename "$row")_s$scale"
    rm -rf "$run"
    cp -r "$sweep/$row" "$run"
    mpirun --allow-run-as-root -np 2 build/src/tilt train --resume "$run" --set eval.guidance_scale="$scale" --quiet
  done
  echo "$row: evaluated at scales ${scales[*]}"
done
echo "wall time: $((SECONDS - started)) s"
mkdir -p "$out"
# The table of exactly the runs made above: "ROW_s{scale}" for each selected row and scale.
python3 - "$runs" "$out" "${#scales[@]}" "${scales[@]}" "${rows[@]}" <<'PY'
import csv, json, os, statistics, sys, yaml
runs, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
scales, selected = sys.argv[4:4 + count], sys.argv[4 + count:]
keys = ["sliced_w2", "energy_distance", "mode_fraction_worst_rel_dev", "outside_support"]
spread = lambda values: statistics.stdev(values) if len(values) > 1 else float("nan")
rows = []
for scale in scales:
    for path in (f"{runs}/{os.path.basename(row)}_s{scale}" for row in selected):
        config = yaml.safe_load(open(f"{path}/config.yaml"))
        metrics = json.load(open(f"{path}/eval.json"))
        rows.append({"data": config["data"]["name"], "seed": config["seed"], "guidance_scale": float(scale),
                     **{k: metrics[k] for k in keys}})
with open(f"{out}/summary.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
lines = ["| data | eval.guidance_scale | sliced W2 (mean ± sd; per seed) | energy distance | worst mode/cell (max over seeds; per seed) | off the support |",
         "| --- | --- | --- | --- | --- | --- |"]
for data in sorted({r["data"] for r in rows}, reverse=True):
    for scale in scales:
        group = sorted((r for r in rows if r["data"] == data and r["guidance_scale"] == float(scale)), key=lambda r: r["seed"])
        w2 = [r["sliced_w2"] for r in group]
        dev = [r["mode_fraction_worst_rel_dev"] for r in group]
        lines.append(f"| {data} | {scale} | {statistics.mean(w2):.3f} ± {spread(w2):.3f} ({', '.join(f'{v:.3f}' for v in w2)}) "
                     f"| {statistics.mean(r['energy_distance'] for r in group):.4f} "
                     f"| ±{100 * max(dev):.1f}% ({', '.join(f'{100 * v:.1f}' for v in dev)}) "
                     f"| {100 * statistics.mean(r['outside_support'] for r in group):.1f}% |")
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
