"""One tilt run directory: config, provenance, training metrics, evaluation and samples."""

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import h5py
import numpy as np
import pandas as pd

from .files import InputError, read_csv, read_json_object, read_yaml

CONFIG_FILE = "config.yaml"
PROVENANCE_FILE = "provenance.yaml"
METRICS_FILE = "metrics.csv"
EVAL_FILE = "eval.json"
SAMPLES_FILE = "samples.h5"
STUDY_FILE = "study.h5"
# study.h5's per-scheme columns (one value per scheme, in /schemes' order).
STUDY_COLUMNS = (
    "noise_time", "acceptance", "tau_energy", "tau_abs_magnetisation", "energy_per_site",
    "energy_per_site_std_error", "seconds_per_step",
)


@dataclass
class Run:
    """A loaded run directory.

    `eval` maps each eval.json metric to a float (NaN where tilt wrote null, i.e. not finite) and is None
    while the run has not finished. `metrics` has one column per metrics.csv column and is empty when the
    run has logged nothing yet.
    """

    path: Path
    config: dict = field(repr=False)
    provenance: dict = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)
    eval: Optional[dict] = field(repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def finished(self) -> bool:
        return self.eval is not None

    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES_FILE

    def samples(self) -> tuple:
        """Returns (samples, exact): the N x D samples, and for 2-D targets a dict with the exact density
        grid `x` (nx), `y` (ny) and `log_density` (ny x nx, row i at y[i]); exact is None without one."""
        if not self.samples_path.exists():
            raise InputError(f"{self.samples_path} does not exist (the run has not been evaluated)")
        try:
            with h5py.File(self.samples_path, "r") as file:
                samples = read_checked(file, "samples")
                exact = None
                if "exact" in file:
                    exact = {name: read_checked(file, f"exact/{name}") for name in ("x", "y", "log_density")}
        except (OSError, KeyError) as error:
            raise InputError(f"cannot read {self.samples_path}: {error}") from error
        if samples.ndim == 1:
            samples = samples[:, np.newaxis]
        return samples, exact

    def learned_energy(self) -> Optional[np.ndarray]:
        """The trained energy E on the exact density's grid (ny x nx, as `log_density`), which a 2-D DxMI
        run writes as /energy; None when samples.h5 has none."""
        if not self.samples_path.exists():
            return None
        try:
            with h5py.File(self.samples_path, "r") as file:
                if "energy" not in file:
                    return None
                energy = read_checked(file, "energy")
                shape = file["exact/log_density"].shape if "exact" in file else None
        except (OSError, KeyError) as error:
            raise InputError(f"cannot read {self.samples_path}: {error}") from error
        if energy.shape != shape:
            raise InputError(
                f"{self.samples_path}: /energy has shape {energy.shape}, the exact density's grid {shape}"
            )
        return energy


def read_study(path: Path) -> Optional[pd.DataFrame]:
    """A tensor-network run's Monte Carlo study (study.h5) as one row per scheme: `scheme` (local, wolff,
    disconnected, connected_t<T>) and STUDY_COLUMNS (noise_time NaN for the schemes without one); None
    when the file does not exist."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as file:
            names = bytes(read_checked(file, "schemes")).decode().split()
            columns = {column: read_checked(file, column) for column in STUDY_COLUMNS}
    except (OSError, KeyError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    if any(len(values) != len(names) for values in columns.values()):
        raise InputError(f"{path}: the study's columns do not have one value per scheme ({len(names)})")
    return pd.DataFrame({"scheme": names, **columns})


def read_study_distributions(path: Path) -> Optional[dict]:
    """The energy and |m| distributions of a tensor-network study (study.h5): {"rows": names (held_out:
    pi by independent chains, mps: the proposal's own samples, then every scheme), "energy_level",
    "abs_m_level": the levels' values (E / N, |m|), "energy", "abs_m": arrays [rows, levels] of
    probabilities}; None when the file does not exist or predates them."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as file:
            if "distribution_rows" not in file:
                return None
            out = {"rows": bytes(read_checked(file, "distribution_rows")).decode().split()}
            for name in ("energy_level", "abs_m_level"):
                out[name] = read_checked(file, name)
            out["energy"] = read_checked(file, "energy_distribution")
            out["abs_m"] = read_checked(file, "abs_m_distribution")
    except (OSError, KeyError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    for kind in ("energy", "abs_m"):
        if out[kind].shape != (len(out["rows"]), len(out[f"{kind}_level"])):
            raise InputError(f"{path}: the {kind} distributions are not [rows, levels]")
    return out


FREDKIN_STUDY_FILE = "fredkin_study.h5"
# fredkin_study.h5: per bond (1..N-1) and per noise time.
FREDKIN_PROFILES = ("exact_height", "sampled_height", "sampled_height_std_error")
FREDKIN_CURVES = (
    "noise_time", "noised_dyck_fraction", "denoised_dyck_fraction", "multistep_dyck_fraction", "overlap",
    "height_max_z", "multistep_height_max_z",
)


def read_fredkin_study(path: Path) -> Optional[dict]:
    """A Fredkin denoising study (fredkin_study.h5) as {"profiles": frame (one row per bond: `bond` and
    FREDKIN_PROFILES), "curves": frame (one row per noise time: FREDKIN_CURVES), "denoised_height": array
    [noise times, bonds]}; None when the file does not exist."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as file:
            profiles = {name: read_checked(file, name) for name in FREDKIN_PROFILES}
            curves = {name: read_checked(file, name) for name in FREDKIN_CURVES}
            denoised = read_checked(file, "denoised_height")
    except (OSError, KeyError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    bonds = len(profiles["exact_height"])
    times = len(curves["noise_time"])
    if any(len(v) != bonds for v in profiles.values()) or any(len(v) != times for v in curves.values()) \
            or denoised.shape != (times, bonds):
        raise InputError(f"{path}: the study's datasets disagree in length ({bonds} bonds, {times} noise times)")
    return {
        "profiles": pd.DataFrame({"bond": np.arange(1, bonds + 1), **profiles}),
        "curves": pd.DataFrame(curves),
        "denoised_height": denoised,
    }


GUIDANCE_STUDY_FILE = "guidance_study.h5"
# guidance_study.h5: per guidance scale (scales [W]), per sampler step (time [S]) and per kept sample.
GUIDANCE_SHARES = (
    "in_support_fraction", "far_edge_fraction", "above_zero_fraction", "beyond_sqrt_w_fraction", "pullback",
    "monotone", "diverged_fraction",
)


def read_guidance_study(path: Path) -> Optional[dict]:
    """A guidance study (guidance_study.h5) as {"shares": frame (one row per scale: `scale` and
    GUIDANCE_SHARES), "time": [S], "trajectory_mean"/"trajectory_std": [W, S] (the projection onto the
    class direction), "final_samples": [W, N, D], "class_samples": [N, D], "class_direction": [D],
    "support_projection": [2], "prescribed_scale"} and what the data adds for figures: a mixture's
    "component_boxes" [K, 2, D] and "component_labels" [K] (K = 0 for images), an image set's
    "image_shape" (height, width; None for mixtures). None when the file does not exist."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as file:
            scales = read_checked(file, "scales")
            shares = {name: read_checked(file, name) for name in GUIDANCE_SHARES}
            out = {name: read_checked(file, name) for name in (
                "time", "trajectory_mean", "trajectory_std", "final_samples", "class_samples", "class_direction",
                "support_projection")}
            out["prescribed_scale"] = float(read_checked(file, "prescribed_scale")[0])
            dim = len(out["class_direction"])
            boxes = "component_boxes" in file
            out["component_boxes"] = read_checked(file, "component_boxes") if boxes else np.zeros((0, 2, dim))
            out["component_labels"] = read_checked(file, "component_labels") if boxes else np.zeros(0)
            out["image_shape"] = tuple(int(v) for v in read_checked(file, "image_shape")) \
                if "image_shape" in file else None
    except (OSError, KeyError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    scale_count, steps = len(scales), len(out["time"])
    if any(len(v) != scale_count for v in shares.values()) \
            or out["trajectory_mean"].shape != (scale_count, steps) \
            or out["trajectory_std"].shape != (scale_count, steps) \
            or out["final_samples"].ndim != 3 or out["final_samples"].shape[0] != scale_count \
            or out["final_samples"].shape[2] != dim or out["class_samples"].shape[1:] != (dim,) \
            or out["component_boxes"].shape[1:] != (2, dim) \
            or (out["image_shape"] is not None and int(np.prod(out["image_shape"])) != dim):
        raise InputError(f"{path}: the study's datasets disagree in shape ({scale_count} scales, {steps} times, "
                         f"dimension {dim})")
    out["shares"] = pd.DataFrame({"scale": scales, **shares})
    return out


def read_images(path: Path) -> Optional[np.ndarray]:
    """The N x H x W uint8 images an image run's samples file holds (/images), or None without them."""
    try:
        with h5py.File(path, "r") as file:
            return read_checked(file, "images") if "images" in file else None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error}") from error


def read_checked(file: h5py.File, name: str) -> np.ndarray:
    """A dataset's values, verified against the CRC-32 tilt stores beside every dataset it writes
    (attribute "crc32", zlib's CRC of the raw little-endian bytes): a corrupt file is refused."""
    dataset = file[name]
    values = np.asarray(dataset)
    if "crc32" in dataset.attrs:
        raw = values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes()
        if zlib.crc32(raw) != int(dataset.attrs["crc32"]):
            raise InputError(f"{file.filename}: dataset '{name}' is corrupt (its CRC-32 does not match)")
    return values


def load_run(path) -> Run:
    """Loads the run directory `path`; only config.yaml is required (tilt writes it first)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"no such directory: {path}")
    if not (path / CONFIG_FILE).exists():
        raise InputError(f"{path} is not a tilt run directory (no {CONFIG_FILE})")
    provenance_path = path / PROVENANCE_FILE
    metrics_path = path / METRICS_FILE
    return Run(
        path=path,
        config=read_yaml(path / CONFIG_FILE),
        provenance=read_yaml(provenance_path) if provenance_path.exists() else {},
        metrics=read_csv(metrics_path) if metrics_path.exists() else pd.DataFrame(),
        eval=read_eval(path / EVAL_FILE),
    )


def read_eval(path: Path) -> Optional[dict]:
    """eval.json as metric -> float (null -> NaN), or None when the file does not exist."""
    if not path.exists():
        return None
    metrics = {}
    for name, value in read_json_object(path).items():
        if value is None:
            metrics[name] = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics[name] = float(value)
        else:
            raise InputError(f"{path}: {name} is {value!r}, not a number or null")
    return metrics
