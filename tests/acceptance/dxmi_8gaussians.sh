#!/usr/bin/env bash
# Issue 9's 8gaussians criteria on one seed of the shipped recipe, at full size on 2 MPI ranks (54-72 s
# here): DxMI's 4-step sampler beats the DDPM sampler it started from on sliced W2 by a clear
# margin, every mode holds 1/8 +- 25%, and the energy ranks points as the exact log-density does.
# The 3-seed table is launch/reproduce/dxmi_2d.sh's (docs/dxmi.md).
set -euo pipefail
tilt=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
mpirun --allow-run-as-root --oversubscribe -np 2 "$tilt" train "$source_dir/configs/dxmi/8gaussians_t4.yaml" \
  --out "$work/run" --quiet
/usr/bin/python3 - "$work/run/eval.json" $((SECONDS - start)) <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"  {sys.argv[2]} s: sliced W2 {m['sliced_w2']:.3f} (start {m['prior_sliced_w2']:.3f}), worst mode "
      f"{m['mode_fraction_worst_rel_dev']:.1%}, Spearman box {m['spearman_neg_energy_log_density']:.3f}, "
      f"support {m['spearman_on_support']:.3f}")
# Thresholds: the sliced W2 margin and the mode shares as the issue asks; Spearman at 0.85, below the
# issue's 0.9: the recipe's 3 seeds gave 0.916 to 0.944 (docs/dxmi.md), and another CPU's rounding
# acts as another seed, so this checks the recipe works, the 3-seed table checks the 0.9.
checks = {
    "sliced W2 at most half the start's": m["sliced_w2"] < 0.5 * m["prior_sliced_w2"],
    "every mode 1/8 +- 25%": m["mode_fraction_worst_rel_dev"] < 0.25,
    "Spearman over the box > 0.85": m["spearman_neg_energy_log_density"] > 0.85,
    "Spearman on the support > 0.85": m["spearman_on_support"] > 0.85,
}
failed = [name for name, ok in checks.items() if not ok]
print("FAIL: " + "; ".join(failed) if failed else "  all criteria hold")
sys.exit(1 if failed else 0)
PY
