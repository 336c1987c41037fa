"""Synthetic run and sweep directories in the layout tilt writes."""

import json
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np
import yaml

# As tilt writes metrics.csv now: the timing columns (iterations_per_s, elapsed_s) live in metrics.h5's
# /timing group only.
METRICS_HEADER = ["step", "loss", "log_z", "residual_mean", "residual_std", "exploration_std", "grad_norm"]
METRICS_STEPS = [0, 100, 200, 300, 400]
GRID_X = np.linspace(-4.0, 4.0, 41)
GRID_Y = np.linspace(-3.0, 3.0, 31)
SAMPLE_COUNT = 300
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def gaussian_log_density(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log N((x, y); 0, diag(1, 0.5)) on the grid, row i at y[i]."""
    grid_x, grid_y = np.meshgrid(x, y)
    return -0.5 * (grid_x**2 + grid_y**2 / 0.5) - np.log(2 * np.pi * np.sqrt(0.5))


def metrics_rows(seed: int) -> list:
    return [
        [step, 10 * np.exp(-step / 100) + 0.1 * seed, -6 + 0.001 * step, 0.01 * seed, 1 / (1 + step), 0.2,
         1.5 + seed]
        for step in METRICS_STEPS
    ]


def write_run(run_dir: Path, seed: int = 0, eval_metrics: dict = None, dimension: int = 2,
              provenance: bool = True, metrics: bool = True, samples: bool = True, energy=None) -> Path:
    """A run directory with config.yaml and, as asked, provenance.yaml, metrics.csv, eval.json (when
    eval_metrics is given) and samples.h5 (with the exact grid in 2-D, and `energy` as /energy when
    given, as a 2-D DxMI run writes its learned energy)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "objective": "rtb",
        "seed": seed,
        "process": {"steps": 100, "sigma2": 5.0},
        "reward": {"kind": "gaussian_likelihood", "y": [-6, 2]},
        "train": {"iterations": 400, "batch": 300, "lr": 0.002},
        "eval": {"samples": SAMPLE_COUNT},
    }
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if provenance:
        # As tilt writes it: one entry per session, here a run resumed once on another revision.
        sessions = [
            {"started_at": "2025-01-01T10:00:00Z", "ranks": 1, "hosts": "node1", "code_revision": "0a1b2c3",
             "code_dirty": True, "libtorch_version": "2.1.0"},
            {"started_at": "2025-01-01T11:00:00Z", "ranks": 2, "hosts": "node1,node2",
             "code_revision": "659bbdb", "code_dirty": False, "libtorch_version": "2.1.0"},
        ]
        (run_dir / "provenance.yaml").write_text(
            yaml.safe_dump({"config_hash": "abc123", "seed": seed, "sessions": sessions}, sort_keys=False)
        )
    if metrics:
        lines = [",".join(METRICS_HEADER)]
        lines += [",".join(repr(float(value)) for value in row) for row in metrics_rows(seed)]
        (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    if eval_metrics is not None:
        (run_dir / "eval.json").write_text(json.dumps(eval_metrics))
    if samples:
        rng = np.random.default_rng(seed)
        with h5py.File(run_dir / "samples.h5", "w") as file:
            file["samples"] = rng.normal(size=(SAMPLE_COUNT, dimension)).astype(np.float32)
            if dimension == 2:
                file["exact/x"] = GRID_X
                file["exact/y"] = GRID_Y
                file["exact/log_density"] = gaussian_log_density(GRID_X, GRID_Y)
            if energy is not None:
                file["energy"] = energy
    return run_dir


STUDY_SCHEMES = ["local", "wolff", "disconnected", "connected_t0.1", "connected_t1"]


def write_tn_study(run_dir: Path, schemes: list = None) -> Path:
    """study.h5 as a tensor-network run writes it: the scheme names (a newline-joined string) and one value
    per scheme of each column (noise_time NaN for local, wolff and disconnected)."""
    schemes = STUDY_SCHEMES if schemes is None else schemes
    count = len(schemes)
    with h5py.File(run_dir / "study.h5", "w") as file:
        file["schemes"] = np.bytes_("".join(name + "\n" for name in schemes))
        file["noise_time"] = np.array([np.nan, np.nan, np.nan, 0.1, 1.0][:count])
        file["acceptance"] = np.linspace(0.9, 0.3, count)
        file["tau_energy"] = np.linspace(2.0, 20.0, count)
        file["tau_abs_magnetisation"] = np.linspace(3.0, 30.0, count)
        file["energy_per_site"] = np.full(count, -1.2)
        file["energy_per_site_std_error"] = np.full(count, 0.01)
        file["seconds_per_step"] = np.linspace(1e-3, 1e-2, count)
        # 4 x 4 levels: E / N = (2k - 28) / 16 (29 levels), |m| = 2j / 16 (9); rows held_out, mps, schemes.
        rows = ["held_out", "mps"] + schemes
        file["distribution_rows"] = np.bytes_("".join(name + "\n" for name in rows))
        file["energy_level"] = (2 * np.arange(29) - 28) / 16
        file["abs_m_level"] = 2 * np.arange(9) / 16
        file["energy_distribution"] = np.full((len(rows), 29), 1 / 29)
        file["abs_m_distribution"] = np.tile(np.linspace(1, 2, 9) / np.linspace(1, 2, 9).sum(), (len(rows), 1))
    return run_dir


def write_fredkin_study(run_dir: Path, bonds: int = 11, times: int = 3, denoised_rows: int = None) -> Path:
    """fredkin_study.h5 as a Fredkin run writes it; denoised_rows (default: times) sets the rows of
    /denoised_height, to make a malformed file."""
    profile = np.minimum(np.arange(1, bonds + 1), np.arange(bonds, 0, -1)).astype(float)
    with h5py.File(run_dir / "fredkin_study.h5", "w") as file:
        file["exact_height"] = profile
        file["sampled_height"] = profile + 0.01
        file["sampled_height_std_error"] = np.full(bonds, 0.02)
        file["noise_time"] = np.geomspace(0.01, 1.0, times)
        file["noised_dyck_fraction"] = np.linspace(0.6, 0.01, times)
        file["denoised_dyck_fraction"] = np.ones(times)
        file["multistep_dyck_fraction"] = np.ones(times)
        file["overlap"] = np.linspace(0.98, 0.55, times)
        file["height_max_z"] = np.full(times, 2.0)
        file["multistep_height_max_z"] = np.full(times, 2.5)
        file["denoised_height"] = np.tile(profile, (times if denoised_rows is None else denoised_rows, 1))
    return run_dir


def write_guidance_study(run_dir: Path, dim: int = 1, scales: int = 3, steps: int = 6, mean_rows: int = None,
                         image_shape: tuple = None) -> Path:
    """guidance_study.h5 as a guidance run writes it: a mixture's in `dim` dimensions or, with
    image_shape (height, width), an image set's; mean_rows (default: scales) sets the rows of
    /trajectory_mean, to make a malformed file."""
    rng = np.random.default_rng(0)
    if image_shape is not None:
        dim = image_shape[0] * image_shape[1]
    with h5py.File(run_dir / "guidance_study.h5", "w") as file:
        file["scales"] = np.arange(scales, dtype=float) * 2
        file["time"] = np.geomspace(10, 1e-3, steps)
        file["class_direction"] = np.ones(dim) / np.sqrt(dim)
        file["support_projection"] = np.array([1.0, 2.0])
        file["trajectory_mean"] = np.tile(np.linspace(0, 1.5, steps), (scales if mean_rows is None else mean_rows, 1))
        file["trajectory_std"] = np.full((scales, steps), 0.3)
        file["final_samples"] = rng.uniform(1, 2, (scales, 50, dim)).astype(np.float32)
        file["class_samples"] = rng.uniform(1, 2, (50, dim)).astype(np.float32)
        if image_shape is None:
            file["component_boxes"] = np.stack([np.stack([np.full(dim, -2.0), np.full(dim, -1.0)]),
                                                np.stack([np.full(dim, 1.0), np.full(dim, 2.0)])])
            file["component_labels"] = np.array([0.0, 1.0])
        else:
            file["image_shape"] = np.array(image_shape, dtype=float)
        for name in ("in_support_fraction", "far_edge_fraction", "above_zero_fraction", "beyond_sqrt_w_fraction",
                     "monotone"):
            file[name] = np.linspace(1, 0.5, scales)
        file["pullback"] = np.linspace(0, 0.2, scales)
        file["diverged_fraction"] = np.zeros(scales)
        file["prescribed_scale"] = np.array([2.0])
    return run_dir


def write_sweep(sweep_dir: Path, keys: list, rows: list, name: str = "test_sweep") -> Path:
    """A sweep directory. Each of `rows` is a dict with `params` (key -> YAML text), `status` (the status
    file's object, or None for none), `eval` (eval.json's object, or None) and `run` (whether the run
    directory exists; default True)."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / "status").mkdir(exist_ok=True)
    manifest_rows = []
    for index, row in enumerate(rows):
        run_dir = f"rows/{index:03d}"
        manifest_rows.append({"index": index, "run_dir": run_dir, "params": row["params"]})
        if row["status"] is not None:
            (sweep_dir / "status" / f"{index:03d}.json").write_text(json.dumps(row["status"]))
        if row.get("run", True):
            seed = int(row["params"].get("seed", 0))
            has_samples = row["eval"] is not None
            write_run(sweep_dir / run_dir, seed=seed, eval_metrics=row["eval"], samples=has_samples)
    manifest = {
        "name": name, "config": "configs/rtb/gmm25_gaussian.yaml", "keys": keys, "rows": manifest_rows,
    }
    (sweep_dir / "manifest.json").write_text(json.dumps(manifest))
    return sweep_dir


# The brief's sweep: train.lr in {0.001, 0.01} x seed in {1, 2, 3}. Rows 0-3 finished, row 4 failed
# (exit code 1), row 5 never started (no status file, no run directory). Row 1 reports iw_log_z as null.
LR_SWEEP_KEYS = ["train.lr", "seed"]
LR_SWEEP_EVAL = {
    0: {"samples": 300, "log_z_error": -0.04, "mode_tv": 0.040, "iw_log_z": -6.45},
    1: {"samples": 300, "log_z_error": -0.01, "mode_tv": 0.055, "iw_log_z": None},
    2: {"samples": 300, "log_z_error": 0.03, "mode_tv": 0.047, "iw_log_z": -6.41},
    3: {"samples": 300, "log_z_error": 0.20, "mode_tv": 0.120, "iw_log_z": -6.30},
}
FINISHED = {"state": "finished", "exit_code": 0, "attempts": 1}


def write_lr_sweep(sweep_dir: Path) -> Path:
    rows = []
    for index, (lr, seed) in enumerate([(lr, seed) for lr in ("0.001", "0.01") for seed in ("1", "2", "3")]):
        status = FINISHED if index in LR_SWEEP_EVAL else None
        if index == 4:
            status = {"state": "failed", "exit_code": 1, "attempts": 2}
        rows.append({"params": {"train.lr": lr, "seed": seed}, "status": status,
                     "eval": LR_SWEEP_EVAL.get(index), "run": index != 5})
    return write_sweep(sweep_dir, LR_SWEEP_KEYS, rows)


# Like a real sweep: a grid over train.lr plus an explicit row that sets reward.A, reward.y and
# reward.noise_variance together, 2 seeds each; every row finished with tilt's full set of eval metrics.
COVARYING_KEYS = ["train.lr", "seed", "reward.A", "reward.y", "reward.noise_variance"]
REWARD_KEYS = ["reward.A", "reward.y", "reward.noise_variance"]
REWARD_AXIS_FIGURE = "metrics_vs_reward.A-reward.y-reward.noise_variance.png"
EVAL_METRIC_NAMES = [
    "samples", "log_z_exact", "log_z_learned", "log_z_error", "elbo", "elbo_error", "iw_log_z",
    "iw_log_z_error", "mode_tv", "min_mode_fraction", "outside_mass", "energy_distance",
    "energy_distance_exact_vs_exact",
]


def covarying_eval(index: int) -> dict:
    """Distinct, finite values of every eval metric for row `index`."""
    return {name: 64.0 if name == "samples" else round(0.1 * (i + 1) + 0.01 * index, 6)
            for i, name in enumerate(EVAL_METRIC_NAMES)}


def write_covarying_sweep(sweep_dir: Path) -> Path:
    params = [{"train.lr": lr} for lr in ("1.0e-3", "2.0e-3")]
    params.append({"reward.A": "[[1, 0.5]]", "reward.y": "[3]", "reward.noise_variance": "4"})
    rows = []
    for point in params:
        for seed in ("0", "1"):
            index = len(rows)
            rows.append(
                {"params": {**point, "seed": seed}, "status": FINISHED, "eval": covarying_eval(index)}
            )
    return write_sweep(sweep_dir, COVARYING_KEYS, rows, name="small")


def assert_nonblank_png(test, path: Path) -> None:
    test.assertTrue(path.is_file(), f"{path} missing")
    test.assertEqual(path.read_bytes()[:8], PNG_SIGNATURE, f"{path} is not a PNG")
    pixels = matplotlib.image.imread(path)
    test.assertGreater(pixels.shape[0] * pixels.shape[1], 100 * 100)
    test.assertGreater(float(pixels.std()), 0.01, f"{path} is blank")
