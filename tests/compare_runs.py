#!/usr/bin/python3
"""Checks that two run directories, or every row of two sweep directories, hold bitwise the same
training: metrics.csv and eval.json byte for byte, and every parameter and optimiser tensor of the
final checkpoint. Exit 0 when equal; otherwise one line per difference and exit 1.

    compare_runs.py RUN_OR_SWEEP_A RUN_OR_SWEEP_B
"""
import sys
from pathlib import Path

import h5py
import numpy as np


def run_dirs(path: Path) -> dict:
    if (path / "manifest.json").exists():
        return {row.name: row for row in sorted((path / "rows").iterdir())}
    return {".": path}


def tensors(checkpoint: Path) -> dict:
    found = {}
    with h5py.File(checkpoint, "r") as file:
        for group in ("parameters", "optimizer"):
            file[group].visititems(
                lambda name, item, group=group: found.__setitem__(f"{group}/{name}", item[()])
                if isinstance(item, h5py.Dataset) else None)
    return found


def differences(a: Path, b: Path) -> list:
    out = []
    for name in ("metrics.csv", "eval.json"):
        if not (a / name).exists() or not (b / name).exists():
            out.append(f"{a.name}: {name} missing")
        elif (a / name).read_bytes() != (b / name).read_bytes():
            out.append(f"{a.name}: {name} differs")
    ta, tb = tensors(a / "checkpoint.h5"), tensors(b / "checkpoint.h5")
    if ta.keys() != tb.keys():
        out.append(f"{a.name}: checkpoints hold different tensors")
    for key in sorted(ta.keys() & tb.keys()):
        if not np.array_equal(ta[key], tb[key]):
            out.append(f"{a.name}: checkpoint {key} differs")
    return out


def main() -> int:
    a, b = run_dirs(Path(sys.argv[1])), run_dirs(Path(sys.argv[2]))
    if a.keys() != b.keys():
        print(f"different rows: {sorted(a)} vs {sorted(b)}")
        return 1
    found = [line for name in a for line in differences(a[name], b[name])]
    for line in found:
        print(line)
    print(f"compared {len(a)} run(s): {'identical' if not found else f'{len(found)} difference(s)'}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
