"""A tilt sweep directory: the manifest's grid of runs, their states and results."""

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .files import InputError, read_json_object
from .run import EVAL_FILE, Run, load_run, read_eval

MANIFEST_FILE = "manifest.json"
SEED_KEY = "seed"
ALL_SEEDS_GRID_POINT = "(all)"
# The value shown for a swept key that a row does not set (an explicit row setting other keys): the
# base config's value applies.
BASE_CONFIG_VALUE = "(config)"
# Columns of Sweep.rows besides the swept keys and the eval metrics.
ROW_COLUMNS = ["index", "run_dir", "state", "exit_code", "attempts"]
STATES = ["finished", "failed", "preempted", "interrupted", "running", "submitted", "pending"]
# The eval metrics a sweep report's compact table and metric-vs-axis figures (one panel each) show, in this
# order, when the sweep reports them; every eval metric, these included, is in summary.csv and in the
# report's "All metrics" table.
MAIN_METRICS = [
    "log_z_error", "iw_log_z_error", "elbo_error", "mode_tv", "min_mode_fraction", "outside_mass",
    "test_elbo", "elbo_gap", "test_bpd", "sliced_w2", "mode_fraction_worst_rel_dev", "energy_distance",
]
# Joins the keys of a multi-key axis in its label, and their values in its value text.
AXIS_SEPARATOR = " / "


@dataclass(frozen=True)
class Axis:
    """Grid keys that vary together: they split the sweep's rows into the same groups (as keys an explicit
    row sets together do), so they are one direction of the grid, drawn and tabulated as one."""

    keys: tuple

    @property
    def label(self) -> str:
        return AXIS_SEPARATOR.join(self.keys)

    def value(self, row) -> str:
        """The axis's value text in `row` (a Sweep.rows or summarize() row): the keys' values joined, or
        BASE_CONFIG_VALUE alone when the row sets none of them."""
        values = [str(row[key]) for key in self.keys]
        if all(value == BASE_CONFIG_VALUE for value in values):
            return BASE_CONFIG_VALUE
        return AXIS_SEPARATOR.join(values)


@dataclass
class Sweep:
    """A loaded sweep directory.

    `rows` has one row per manifest row: index, run_dir (absolute), state (one of STATES), exit_code and
    attempts (from the status file, <NA> without one), one column per swept key (the YAML value text, a
    string), grid_point, and one float column per eval metric (NaN where missing or not finite).
    """

    path: Path
    name: str
    base_config: str
    keys: list
    rows: pd.DataFrame = field(repr=False)
    eval_metrics: list = field(repr=False)

    @property
    def grid_keys(self) -> list:
        """The swept keys that define a grid point: all but the seed."""
        return [key for key in self.keys if key != SEED_KEY]

    @property
    def axes(self) -> list:
        """The grid keys grouped into Axis objects (keys that partition the rows identically share one),
        in the order of their first key; the seed is never part of one."""
        groups = {}
        for key in self.grid_keys:
            # Codes in order of first appearance: equal exactly when two keys group the rows alike.
            codes = tuple(pd.factorize(self.rows[key])[0])
            groups.setdefault(codes, []).append(key)
        return [Axis(tuple(keys)) for keys in groups.values()]

    @property
    def main_metrics(self) -> list:
        """The MAIN_METRICS the sweep reports, in MAIN_METRICS order."""
        return [metric for metric in MAIN_METRICS if metric in self.eval_metrics]

    @property
    def finished_rows(self) -> pd.DataFrame:
        return self.rows[self.rows["state"] == "finished"]

    def run(self, index: int) -> Run:
        """Loads the run directory of manifest row `index`."""
        matches = self.rows.loc[self.rows["index"] == index, "run_dir"]
        if matches.empty:
            raise InputError(f"sweep {self.path} has no row {index}")
        return load_run(matches.iloc[0])

    def metrics(self) -> pd.DataFrame:
        """The training curves (metrics.csv) of every finished row, stacked, with the row's index,
        grid_point and seed (from its resolved config) in front; merge with `rows` on index for more."""
        id_columns = ["index", "grid_point", "seed"]
        frames = []
        finished = self.finished_rows
        for index, grid_point in zip(finished["index"], finished["grid_point"]):
            run = self.run(index)
            if run.metrics.empty:
                continue
            ids = pd.DataFrame(
                {"index": index, "grid_point": grid_point, "seed": run.config.get(SEED_KEY)},
                index=run.metrics.index,
            )
            frames.append(pd.concat([ids, run.metrics], axis=1))
        if not frames:
            return pd.DataFrame(columns=id_columns)
        return pd.concat(frames, ignore_index=True)


def is_sweep_dir(path) -> bool:
    return (Path(path) / MANIFEST_FILE).exists()


def load_sweep(path) -> Sweep:
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"no such directory: {path}")
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.exists():
        raise InputError(f"{path} is not a tilt sweep directory (no {MANIFEST_FILE})")
    manifest = read_json_object(manifest_path)
    try:
        keys = list(manifest["keys"])
        manifest_rows = list(manifest["rows"])
    except (KeyError, TypeError) as error:
        raise InputError(f"{manifest_path}: missing or malformed {error}") from error

    row_records, row_evals = [], []
    for manifest_row in manifest_rows:
        record, row_eval = _read_row(path, manifest_row, keys, manifest_path)
        row_records.append(record)
        row_evals.append(row_eval)
    # In first-seen order, so that tables follow eval.json's order.
    eval_metrics = list(dict.fromkeys(metric for row_eval in row_evals for metric in row_eval))

    rows = pd.DataFrame(row_records, columns=ROW_COLUMNS + keys + ["grid_point"])
    rows = rows.astype({"exit_code": "Int64", "attempts": "Int64"})
    for metric in eval_metrics:
        rows[metric] = pd.Series([row_eval.get(metric, math.nan) for row_eval in row_evals], dtype=float)
    return Sweep(
        path=path,
        name=str(manifest.get("name", path.name)),
        base_config=str(manifest.get("config", "")),
        keys=keys,
        rows=rows,
        eval_metrics=eval_metrics,
    )


def grid_point_label(params: dict, grid_keys: list) -> str:
    if not grid_keys:
        return ALL_SEEDS_GRID_POINT
    label = ", ".join(f"{key}={params[key]}" for key in grid_keys if params[key] != BASE_CONFIG_VALUE)
    return label or "(base config)"


def _read_row(sweep_path: Path, manifest_row: dict, keys: list, manifest_path: Path) -> tuple:
    """One manifest row as (its Sweep.rows record without eval metrics, its eval metrics or {})."""
    try:
        index = int(manifest_row["index"])
        run_dir = sweep_path / manifest_row["run_dir"]
        params = {key: str(manifest_row["params"].get(key, BASE_CONFIG_VALUE)) for key in keys}
    except (KeyError, TypeError, ValueError) as error:
        message = f"{manifest_path}: malformed row {manifest_row!r}: missing or bad {error}"
        raise InputError(message) from error

    status_path = sweep_path / "status" / f"{index:03d}.json"
    status = read_json_object(status_path) if status_path.exists() else {}
    row_eval = read_eval(run_dir / EVAL_FILE)
    if row_eval is not None:
        state = "finished"
    elif status.get("state") == "finished":
        # The job exited cleanly but left no evaluation: it produced no result, so it is not finished.
        state = "failed"
    else:
        state = status.get("state", "pending")
    record = {
        "index": index,
        "run_dir": str(run_dir),
        "state": state,
        "exit_code": status.get("exit_code"),
        "attempts": status.get("attempts"),
        **params,
        "grid_point": grid_point_label(params, [key for key in keys if key != SEED_KEY]),
    }
    return record, row_eval or {}


def summarize(sweep: Sweep) -> pd.DataFrame:
    """One row per grid point and eval metric: the grid keys' values, grid_point, metric, and the mean, std
    (ddof=1, NaN for one value) and n over the finished seeds that report a finite value of the metric.
    Grid points without a finished seed appear with n = 0 and NaN mean and std."""
    columns = sweep.grid_keys + ["grid_point", "metric", "mean", "std", "n"]
    records = []
    for grid_point, group in sweep.rows.groupby("grid_point", sort=False):
        key_values = {key: group[key].iloc[0] for key in sweep.grid_keys}
        finished = group[group["state"] == "finished"]
        for metric in sweep.eval_metrics:
            values = finished[metric].dropna()
            records.append(
                {
                    **key_values,
                    "grid_point": grid_point,
                    "metric": metric,
                    "mean": values.mean(),
                    "std": values.std(ddof=1),
                    "n": len(values),
                }
            )
    return pd.DataFrame(records, columns=columns)
