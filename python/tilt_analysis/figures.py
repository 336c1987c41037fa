"""Figures of runs and sweeps.

Figures are built as bare matplotlib Figure objects (which render through Agg when saved), not through
pyplot: importing this package then leaves the pyplot backend of a notebook session alone.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# metrics.csv columns that measure speed, not training progress.
TIMING_COLUMNS = {"iterations_per_s", "elapsed_s"}
# Columns Sweep.metrics() adds to identify the run of each row.
RUN_ID_COLUMNS = {"index", "grid_point", "seed"}
# The density is drawn this many nats below its peak; lower values would wash out the modes.
LOG_DENSITY_RANGE = 12.0


def save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def training_columns(metrics: pd.DataFrame) -> list:
    """The metrics.csv columns worth a training-curve panel, in file order."""
    excluded = TIMING_COLUMNS | RUN_ID_COLUMNS | {"step"}
    return [
        column
        for column in metrics.columns
        if column not in excluded and pd.api.types.is_numeric_dtype(metrics[column])
    ]


def plot_training_curves(metrics: pd.DataFrame, title: str, group_by: str = None) -> Figure:
    """One panel per training column vs step. With `group_by`, one line per group: the mean over the
    group's runs at each step, with a band from their minimum to their maximum."""
    columns = training_columns(metrics)
    if "step" not in metrics.columns or not columns:
        raise ValueError("metrics need a step column and at least one training column")
    groups = [(None, metrics)] if group_by is None else list(metrics.groupby(group_by, sort=False))
    # Fainter bands when many overlap, so the lines stay readable.
    band_alpha = min(0.25, 1 / len(groups))

    column_count = 1 if len(columns) == 1 else 2
    row_count = math.ceil(len(columns) / column_count)
    figure = Figure(figsize=(6 * column_count, 3.2 * row_count), layout="constrained")
    panels = list(figure.subplots(row_count, column_count, squeeze=False).flat)
    for axes, column in zip(panels, columns):
        for label, group in groups:
            by_step = group.groupby("step")[column].agg(["mean", "min", "max", "count"])
            (line,) = axes.plot(by_step.index, by_step["mean"], label=label)
            if (by_step["count"] > 1).any():
                axes.fill_between(
                    by_step.index, by_step["min"], by_step["max"],
                    color=line.get_color(), alpha=band_alpha, linewidth=0,
                )
        axes.set_xlabel("step")
        axes.set_ylabel(column)
        if _spans_decades(metrics[column]):
            axes.set_yscale("log")
    for unused in panels[len(columns) :]:
        unused.remove()
    if len(groups) > 1:
        handles, labels = figure.axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=min(len(groups), 2))
    figure.suptitle(title)
    return figure


def plot_samples(samples: np.ndarray, exact: dict = None, title: str = "tilt samples") -> Figure:
    """Samples as a scatter of their first two coordinates (a histogram in 1-D), over the exact target's
    log density when `exact` (x, y, log_density) is given."""
    figure = Figure(figsize=(6.4, 5.4), layout="constrained")
    axes = figure.add_subplot()
    sample_count, dimension = samples.shape
    if dimension == 1:
        axes.hist(samples[:, 0], bins=60, density=True, color="tab:red", alpha=0.7, label="tilt samples")
        axes.set_xlabel("x1")
        axes.set_ylabel("density")
    else:
        if exact is not None:
            _draw_log_density(figure, axes, exact)
            axes.set_aspect("equal")
        axes.scatter(
            samples[:, 0], samples[:, 1], s=5, color="tab:red", alpha=0.7, linewidths=0, label="tilt samples"
        )
        axes.set_xlabel("x1")
        axes.set_ylabel("x2")
    axes.legend(loc="upper right", markerscale=4)
    shown = "" if dimension <= 2 else f", first 2 of {dimension} coordinates"
    axes.set_title(f"{title} ({sample_count} samples{shown})")
    return figure


def plot_metric_vs_key(summary: pd.DataFrame, metric: str, key: str, other_keys: list, title: str) -> Figure:
    """`metric`'s mean over seeds (error bars: std) against the values of the swept `key`, one line per
    combination of `other_keys`. `summary` is summarize()'s frame. The axis is numeric when every value of
    `key` parses as a number, else categorical in grid order."""
    rows = summary[summary["metric"] == metric]
    values = list(dict.fromkeys(rows[key]))
    numeric_values = _as_numbers(values)
    if numeric_values is not None:
        position = dict(zip(values, numeric_values))
    else:
        position = {value: i for i, value in enumerate(values)}

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    axes = figure.add_subplot()
    if other_keys:
        labels = rows[other_keys].apply(
            lambda row: ", ".join(f"{other}={row[other]}" for other in other_keys), axis=1
        )
        series = list(rows.groupby(labels, sort=False))
    else:
        series = [(None, rows)]
    for label, group in series:
        group = group.assign(x=group[key].map(position)).sort_values("x")
        # NaN std (one seed) draws no bar; an all-NaN yerr makes matplotlib 3.6 raise, so pass none then.
        errors = group["std"].to_numpy(float) if group["std"].notna().any() else None
        axes.errorbar(
            group["x"].to_numpy(float), group["mean"].to_numpy(float), yerr=errors,
            marker="o", capsize=3, label=label,
        )
    if numeric_values is None:
        axes.set_xticks(range(len(values)), values)
    elif _spans_decades(pd.Series(numeric_values)):
        axes.set_xscale("log")
    axes.set_xlabel(key)
    axes.set_ylabel(f"{metric} (mean ± std over seeds)")
    if len(series) > 1:
        axes.legend(fontsize="small")
    axes.set_title(title)
    return figure


def _draw_log_density(figure: Figure, axes, exact: dict) -> None:
    log_density = np.nan_to_num(np.asarray(exact["log_density"], dtype=float), nan=-np.inf)
    floor = np.max(log_density) - LOG_DENSITY_RANGE
    shown = np.maximum(log_density, floor)
    mesh = axes.pcolormesh(exact["x"], exact["y"], shown, shading="auto", cmap="Blues")
    colorbar = figure.colorbar(mesh, ax=axes)
    colorbar.set_label(f"exact target log density (cut {LOG_DENSITY_RANGE:g} below peak)")


def _as_numbers(values: list):
    """The values as floats when all parse as numbers, else None."""
    try:
        return [float(value) for value in values]
    except ValueError:
        return None


def _spans_decades(values: pd.Series) -> bool:
    """Whether positive values spread over two decades or more, where a log axis reads better."""
    finite = values[np.isfinite(values)]
    return len(finite) > 0 and finite.min() > 0 and finite.max() / finite.min() >= 100
