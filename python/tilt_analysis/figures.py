"""Figures of runs and sweeps.

Figures are built as bare matplotlib Figure objects (which render through Agg when saved), not through
pyplot: importing this package then leaves the pyplot backend of a notebook session alone.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator

from .sweep import BASE_CONFIG_VALUE, Axis

# Columns that measure speed, not training progress. tilt now writes them to metrics.h5's /timing group
# only; metrics.csv files of older runs still have them.
TIMING_COLUMNS = {"iterations_per_s", "elapsed_s"}
# Columns Sweep.metrics() adds to identify the run of each row.
RUN_ID_COLUMNS = {"index", "grid_point", "seed"}
# The density is drawn this many nats below its peak; lower values would wash out the modes.
LOG_DENSITY_RANGE = 12.0
# plot_energy clips the lowest values of -E on the grid at this percentile.
ENERGY_CLIP_PERCENT = 5
# Characters per line of wrapped tick labels, axis labels and legend entries.
TICK_LABEL_WIDTH = 16
AXIS_LABEL_WIDTH = 40
LEGEND_LABEL_WIDTH = 50
# A numeric axis with at most this many values gets one tick per value, labelled as the sweep wrote it.
MAX_LABELLED_VALUES = 10
# wrap_label keeps these, standing alone between spaces, at the end of the line before them.
SEPARATOR_WORDS = {"/", ";", ",", "|"}


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
    group's runs at each step, with a band from their minimum to their maximum; the legend (wrapped
    labels) goes below the panels. The loss is drawn on a log scale when all its values are positive,
    other columns when their positive values span decades."""
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
        axes.set_title(column)
        if (column == "loss" and _all_positive(metrics[column])) or _spans_decades(metrics[column]):
            axes.set_yscale("log")
    for unused in panels[len(columns) :]:
        unused.remove()
    if len(groups) > 1:
        handles, labels = figure.axes[0].get_legend_handles_labels()
        labels = [wrap_label(label, LEGEND_LABEL_WIDTH) for label in labels]
        ncol = _legend_columns(labels, 55 * column_count)
        figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=ncol)
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


def plot_energy(exact: dict, energy: np.ndarray, title: str = "learned energy") -> Figure:
    """The exact log density (exact: x, y, log_density) beside a learned negative energy -E on the same
    grid: an energy-based model is right where -E ranks the points as log p does (E is defined up to a
    constant, so each panel has its own colour scale)."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    exact_axes, energy_axes = figure.subplots(1, 2, sharex=True, sharey=True)
    _draw_log_density(figure, exact_axes, exact)
    exact_axes.set_title("exact log density")
    negative_energy = -np.asarray(energy, dtype=float)
    # The box's far corners, which no sample visits, would otherwise set the whole colour scale.
    floor = np.percentile(negative_energy, ENERGY_CLIP_PERCENT)
    mesh = energy_axes.pcolormesh(exact["x"], exact["y"], np.maximum(negative_energy, floor), shading="auto",
                                  cmap="Blues")
    figure.colorbar(mesh, ax=energy_axes).set_label(
        f"learned -E (up to a constant; lowest {ENERGY_CLIP_PERCENT:g}% of the grid clipped)")
    energy_axes.set_title("learned negative energy")
    for axes in (exact_axes, energy_axes):
        axes.set_aspect("equal")
        axes.set_xlabel("x1")
        axes.set_ylabel("x2")
    figure.suptitle(title)
    return figure


def plot_image_grid(images: np.ndarray, title: str = "tilt samples", columns: int = 8) -> Figure:
    """The first columns^2 images (N x H x W, uint8 0..255 as tilt writes /images) tiled row by row in
    a grid with a one-pixel gap, in grey levels with their scale beside them."""
    count = min(len(images), columns * columns)
    rows = math.ceil(count / columns)
    height, width = images.shape[1:3]
    canvas = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index in range(count):
        row, column = divmod(index, columns)
        canvas[row * (height + 1): row * (height + 1) + height,
               column * (width + 1): column * (width + 1) + width] = images[index]
    figure = Figure(figsize=(6.4, 0.8 * rows + 1.2), layout="constrained")
    axes = figure.add_subplot()
    shown = axes.imshow(canvas, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    axes.set_xticks([(width + 1) * c + width / 2 for c in range(columns)], [str(c + 1) for c in range(columns)])
    axes.set_yticks([(height + 1) * r + height / 2 for r in range(rows)], [str(r * columns + 1) for r in range(rows)])
    axes.set_xlabel("column")
    axes.set_ylabel("first sample of the row")
    figure.colorbar(shown, ax=axes, label="pixel value", shrink=0.8)
    axes.set_title(f"{title} ({count} of {len(images)} samples)")
    return figure


def plot_metrics_vs_axis(
    summary: pd.DataFrame, axis: Axis, other_axes: list, metrics: list, title: str
) -> Figure:
    """One panel per metric of `metrics`: its mean over seeds (error bars: std) against the values of
    `axis`, one line per combination of the values of `other_axes` that take more than one value.
    `summary` is summarize()'s frame. The x axis is numeric (logarithmic when the values span decades)
    when the axis is one key whose values all parse as numbers; else categorical, with the values (wrapped)
    as tick labels: in increasing order then BASE_CONFIG_VALUE when all other values are numbers, else in
    grid order."""
    points = summary.drop_duplicates("grid_point")
    point_value = dict(zip(points["grid_point"], points.apply(axis.value, axis=1)))
    values = list(dict.fromkeys(point_value.values()))
    numeric_values = _as_numbers(values) if len(axis.keys) == 1 else None
    if numeric_values is not None:
        position = dict(zip(values, numeric_values))
    else:
        values = _categorical_order(values)
        position = {value: i for i, value in enumerate(values)}

    varying_others = [other for other in other_axes if points.apply(other.value, axis=1).nunique() > 1]
    legend_title = None
    if len(varying_others) == 1:
        # The other axis's name goes in the legend's title, its values in the entries.
        (other,) = varying_others
        legend_title = wrap_label(other.label, LEGEND_LABEL_WIDTH)
        line_labels = points.apply(other.value, axis=1)
    elif varying_others:
        line_labels = points.apply(
            lambda row: "; ".join(f"{other.label}={other.value(row)}" for other in varying_others), axis=1
        )
    else:
        line_labels = pd.Series([None] * len(points), index=points.index, dtype=object)
    point_line = dict(zip(points["grid_point"], line_labels))
    lines = list(dict.fromkeys(point_line.values()))
    # Lines that meet at a categorical tick are spread around it, so that their error bars stay apart.
    dodge = {}
    if numeric_values is None:
        for value in values:
            meeting = [line for line in lines if any(
                point_line[g] == line and point_value[g] == value for g in point_line
            )]
            spread = min(0.3, 0.1 * (len(meeting) - 1))
            for i, line in enumerate(meeting):
                dodge[(line, value)] = spread * (i / (len(meeting) - 1) - 0.5) if len(meeting) > 1 else 0.0

    column_count = min(3, max(1, len(metrics)))
    row_count = math.ceil(max(1, len(metrics)) / column_count)
    figure = Figure(figsize=(4.6 * column_count, 3.6 * row_count + 0.6), layout="constrained")
    panels = list(figure.subplots(row_count, column_count, squeeze=False).flat)
    tick_labels = [wrap_label(value, TICK_LABEL_WIDTH) for value in values]
    for axes, metric in zip(panels, metrics):
        rows = summary[summary["metric"] == metric]
        offsets = rows["grid_point"].map(lambda g: dodge.get((point_line[g], point_value[g]), 0.0))
        rows = rows.assign(x=rows["grid_point"].map(point_value).map(position) + offsets)
        for line in lines:
            group = rows[[point_line[g] == line for g in rows["grid_point"]]].sort_values("x")
            if group.empty:
                continue
            # NaN std (one seed) draws no bar; an all-NaN yerr makes matplotlib 3.6 raise, so pass none then.
            errors = group["std"].to_numpy(float) if group["std"].notna().any() else None
            axes.errorbar(
                group["x"].to_numpy(float), group["mean"].to_numpy(float), yerr=errors,
                marker="o", capsize=3, label=None if line is None else wrap_label(line, LEGEND_LABEL_WIDTH),
            )
        if rows["mean"].notna().sum() == 0:
            axes.text(0.5, 0.5, "no finite value", transform=axes.transAxes, ha="center", va="center")
        if numeric_values is None:
            axes.set_xticks(range(len(values)), tick_labels)
            axes.set_xlim(-0.5, len(values) - 0.5)
        else:
            if _spans_decades(pd.Series(numeric_values)):
                axes.set_xscale("log")
            if len(values) <= MAX_LABELLED_VALUES:
                # Ticks at the swept values, as the sweep spells them.
                ticks = sorted(zip(numeric_values, tick_labels))
                axes.set_xticks([tick for tick, _ in ticks], [label for _, label in ticks])
                axes.xaxis.set_minor_locator(NullLocator())
        axes.set_xlabel(wrap_label(axis.label, AXIS_LABEL_WIDTH))
        axes.set_ylabel(metric)
        axes.set_title(metric)
        axes.grid(True, alpha=0.3)
    for unused in panels[len(metrics) :]:
        unused.remove()
    if len(lines) > 1:
        handles, labels = figure.axes[0].get_legend_handles_labels()
        figure.legend(
            handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=_legend_columns(labels, 110),
            title=legend_title,
        )
    figure.suptitle(title)
    return figure


def plot_tn_study(studies: list, title: str) -> Figure:
    """A tensor-network Monte Carlo study (run.read_study frames; `studies` holds (label, frame) pairs, one
    line colour each): the connected scheme's acceptance, integrated autocorrelation time of |m| and cost
    of an independent sample (tau x seconds per step) against the noise time gamma t, each beside the
    schemes without a noise time as horizontal lines (dashed: disconnected, dotted: local Metropolis,
    dash-dotted: Wolff)."""
    references = {"disconnected": "--", "local": ":", "wolff": "-."}
    panels_spec = [
        ("acceptance", "acceptance", ["disconnected"]),
        ("tau_abs_magnetisation", "τ_int(|m|) [steps]", list(references)),
        ("seconds_per_sample", "τ_int(|m|) × seconds per step [s]", list(references)),
    ]
    figure = Figure(figsize=(14, 4.4), layout="constrained")
    panels = figure.subplots(1, len(panels_spec))
    colours = [f"C{i}" for i in range(10)]
    for (label, study), colour in zip(studies, colours * (1 + len(studies) // 10)):
        study = study.assign(seconds_per_sample=study["tau_abs_magnetisation"] * study["seconds_per_step"])
        connected = study[study["noise_time"].notna()].sort_values("noise_time")
        for axes, (column, ylabel, shown) in zip(panels, panels_spec):
            axes.plot(connected["noise_time"], connected[column], "o-", color=colour,
                      label=f"{label}: connected")
            for scheme in shown:
                row = study[study["scheme"] == scheme]
                if not row.empty:
                    axes.axhline(float(row[column].iloc[0]), color=colour, linestyle=references[scheme],
                                 label=f"{label}: {scheme}")
    for axes, (column, ylabel, _) in zip(panels, panels_spec):
        axes.set_xscale("log")
        axes.set_xlabel("noise time γt")
        axes.set_ylabel(ylabel)
        axes.set_title(ylabel)
        axes.grid(True, alpha=0.3)
        if column != "acceptance":
            axes.set_yscale("log")
    handles, labels = panels[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0),
                  ncol=_legend_columns(labels, 110))
    figure.suptitle(title)
    return figure


def plot_tn_distributions(studies: list, title: str) -> Figure:
    """The |m| and energy distributions of tensor-network studies (run.read_study_distributions; `studies`
    holds (label, distributions) pairs, one column each): pi by independent chains (black), the MPS's
    own samples (its bias, dashed), and the disconnected, the smallest-noise connected, local Metropolis
    and Wolff chains' states, which Metropolis-Hastings brings back to pi."""
    shown = {"held_out": ("k-", "π (independent chains)"), "mps": ("--", "MPS samples (proposal)"),
             "disconnected": ("-", "disconnected MH"), "local": (":", "local Metropolis"),
             "wolff": ("-.", "Wolff")}
    figure = Figure(figsize=(4.6 * len(studies), 7.2), layout="constrained")
    panels = figure.subplots(2, len(studies), squeeze=False)
    for column, (label, study) in enumerate(studies):
        rows = list(study["rows"])
        connected = [name for name in rows if name.startswith("connected_t")]
        names = [name for name in shown if name in rows] + connected[:1]
        for row, (kind, xlabel) in enumerate((("abs_m", "|m|"), ("energy", "E / N"))):
            axes = panels[row][column]
            levels = study[f"{kind}_level"]
            occupied = study[kind].sum(axis=0) > 0
            for name in names:
                # The connected line is each study's smallest noise time (it may differ between columns).
                style, legend = shown.get(name, ("-", "connected MH, smallest γt"))
                axes.plot(levels[occupied], study[kind][rows.index(name)][occupied], style, label=legend)
            axes.set_xlabel(xlabel)
            axes.set_ylabel("probability")
            smallest = f", connected at γt = {connected[0][len('connected_t'):]}" if connected else ""
            axes.set_title(f"{label}: {xlabel}{smallest}")
            axes.grid(True, alpha=0.3)
    handles, labels = panels[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=_legend_columns(labels, 110))
    figure.suptitle(title)
    return figure


def plot_fredkin_study(study: dict, title: str) -> Figure:
    """A Fredkin denoising study (run.read_fredkin_study): the height profile (exact, exact samples ±
    2 s.e., and the one-step denoised samples at the smallest and largest noise time); the share of Dyck
    paths after noising and after exact denoising (one step and several) and the overlap with the clean
    samples against the noise time; the height profiles' max |z| against the exact one."""
    profiles, curves = study["profiles"], study["curves"]
    figure = Figure(figsize=(14, 4.4), layout="constrained")
    heights, shares, errors = figure.subplots(1, 3)
    heights.plot(profiles["bond"], profiles["exact_height"], "k-", label="exact (bond marginals)")
    heights.errorbar(profiles["bond"], profiles["sampled_height"], yerr=2 * profiles["sampled_height_std_error"],
                     fmt=".", color="C0", label="exact samples ± 2 s.e.")
    for row, marker in ((0, "x"), (len(curves) - 1, "+")):
        heights.plot(profiles["bond"], study["denoised_height"][row], marker, linestyle="none",
                     label=f"denoised from γt = {curves['noise_time'].iloc[row]:g}")
    heights.set_xlabel("bond (after site i)")
    heights.set_ylabel("mean height ⟨h_i⟩")
    heights.set_title("height profile")
    heights.legend()
    for column, label, style in (
        ("noised_dyck_fraction", "noised: Dyck paths", "o-"),
        ("denoised_dyck_fraction", "denoised (1 step): Dyck paths", "s-"),
        ("multistep_dyck_fraction", "denoised (several steps): Dyck paths", "^--"),
        ("overlap", "overlap with the clean sample", "d-"),
    ):
        shares.plot(curves["noise_time"], curves[column], style, label=label)
    shares.set_ylabel("share")
    shares.set_title("noising and exact denoising")
    shares.legend()
    for column, label, style in (("height_max_z", "1 step", "s-"), ("multistep_height_max_z", "several steps", "^--")):
        errors.plot(curves["noise_time"], curves[column], style, label=label)
    errors.set_ylabel("max over bonds of |⟨h⟩ − exact| / s.e.")
    errors.set_title("denoised height profile vs exact")
    errors.legend()
    for axes in (shares, errors):
        axes.set_xscale("log")
        axes.set_xlabel("noise time γt")
    for axes in (heights, shares, errors):
        axes.grid(True, alpha=0.3)
    figure.suptitle(title)
    return figure


IMAGE_SWEEP_COLUMNS = 12


def plot_guidance_study(study: dict, title: str) -> Figure:
    """A guidance study (run.read_guidance_study). Top: the final samples at every scale w against the
    guided class's exact samples (1-D: histograms; 2-D: one scatter a scale, over the components' boxes;
    images: one row of images a scale under a row of training images of the class, the visual sweep).
    Bottom: the mean projection onto the class direction over the sampler's time ± 1 std, one line a
    scale (the support's extent along it shaded); and against w the shares the paper's claims are about
    (in the class support and at its far edge for compact supports, above 0 and beyond sqrt(w) for
    Gaussians), with the prescribed scale marked."""
    shares = study["shares"]
    scales = shares["scale"].to_numpy()
    samples, reference = study["final_samples"], study["class_samples"]
    boxes, labels = study["component_boxes"], study["component_labels"]
    low, high = study["support_projection"]
    bounded = np.isfinite(low) and np.isfinite(high)
    dim = samples.shape[2]
    images = study["image_shape"]
    figure = Figure(figsize=(15, 8.5 if images is None else 6 + 1.1 * len(scales)), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=[1, 1.1] if images is None else [1.2 * (len(scales) + 1), 4])
    colors = [f"C{i % 10}" for i in range(len(scales))]
    if images is not None:
        columns = min(IMAGE_SWEEP_COLUMNS, reference.shape[0], samples.shape[1])
        rows = [("class images", reference), *[(f"w = {w:g}", s) for w, s in zip(scales, samples)]]
        for axes, (name, row) in zip(np.atleast_1d(top.subplots(len(rows), 1)), rows):
            strip = np.concatenate([np.clip(image.reshape(images), -1, 1) for image in row[:columns]], axis=1)
            axes.imshow(strip, cmap="gray", vmin=-1, vmax=1)
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_ylabel(name, rotation=0, ha="right", va="center")
        top.suptitle("final samples (pixels clipped to [-1, 1] for display; the support test reads them unclipped)")
    elif dim == 1:
        axes = top.subplots(1, 1)
        if bounded:  # samples that left far beyond the boxes (Theorem 3) would flatten every bin
            edges = np.linspace(boxes[:, 0, 0].min() - 0.5, boxes[:, 1, 0].max() + 1.0, 121)
        else:
            finite = np.concatenate([reference[:, 0], *[s[np.isfinite(s[:, 0]), 0] for s in samples]])
            edges = np.linspace(np.percentile(finite, 0.5) - 0.2, np.percentile(finite, 99.5) + 0.2, 121)
        axes.hist(reference[:, 0], bins=edges, density=True, color="0.75", label="class samples (exact)")
        for w, s, color in zip(scales, samples, colors):
            axes.hist(s[np.isfinite(s[:, 0]), 0], bins=edges, density=True, histtype="step", color=color,
                      linewidth=1.5, label=f"w = {w:g}")
        for box, label in zip(boxes, labels):
            if bounded:
                axes.axvspan(box[0, 0], box[1, 0], color="C2" if label == labels.max() else "0.5", alpha=0.08)
        axes.set_xlabel("x")
        axes.set_ylabel("density")
        axes.set_title("final samples" + (" (those beyond the axis not drawn)" if bounded else ""))
        axes.legend(ncol=2)
        axes.grid(True, alpha=0.3)
    else:
        panels = np.atleast_1d(top.subplots(1, len(scales) + 1, sharex=True, sharey=True))
        for axes, w, s, color in zip(panels, [None, *scales], [reference, *samples], ["0.4", *colors]):
            for box, label in zip(boxes, labels):
                axes.add_patch(Rectangle(box[0, :2], *(box[1, :2] - box[0, :2]), fill=False,
                                         edgecolor="C3" if label == labels.max() else "0.4", linewidth=1.2))
            axes.scatter(s[:, 0], s[:, 1], s=2, color=color, alpha=0.4)
            axes.set_title("class samples (exact)" if w is None else f"w = {w:g}")
            axes.set_xlabel("x₁")
            axes.grid(True, alpha=0.3)
            axes.set_aspect("equal", adjustable="box")
            axes.set_xlim(boxes[:, 0, 0].min() - 1.0, boxes[:, 1, 0].max() + 1.0)
            axes.set_ylim(boxes[:, 0, 1].min() - 1.0, boxes[:, 1, 1].max() + 1.0)
        panels[0].set_ylabel("x₂")
    trajectory, share = bottom.subplots(1, 2)
    time = study["time"]
    for w, mean, std, color in zip(scales, study["trajectory_mean"], study["trajectory_std"], colors):
        trajectory.plot(time, mean, color=color, label=f"w = {w:g}")
        trajectory.fill_between(time, mean - std, mean + std, color=color, alpha=0.12)
    if bounded:
        trajectory.axhspan(low, high, color="C2", alpha=0.1, label="class support along u")
    if bounded and images is None:
        # Trajectories that escape (Theorem 3) leave through the top instead of squashing the rest.
        trajectory.set_ylim(-3.5, high + 3 * (high - low) + 1)
    trajectory.set_xscale("log")
    trajectory.invert_xaxis()
    trajectory.set_xlabel("diffusion time t (sampling runs right)")
    trajectory.set_ylabel("⟨u, x_t⟩ (u: class direction)")
    trajectory.set_title("mean projected trajectory ± 1 std")
    trajectory.legend(ncol=2)
    columns = (("in_support_fraction", "in class support"), ("far_edge_fraction", "at the far edge (last 10%)")) \
        if bounded else (("above_zero_fraction", "⟨u, x⟩ ≥ 0"), ("beyond_sqrt_w_fraction", "⟨u, x⟩ ≥ √w"))
    for (column, label), style in zip(columns, ("o-", "s-")):
        share.plot(scales, shares[column], style, label=label)
    share.plot(scales, shares["monotone"], "^:", label="mean trajectory monotone (1 = yes)")
    if study["prescribed_scale"] >= 0:
        share.axvline(study["prescribed_scale"], color="k", linestyle="--",
                      label=f"prescribed w = {study['prescribed_scale']:g}")
    share.set_xlabel("guidance scale w")
    share.set_ylabel("share of samples")
    share.set_ylim(-0.03, 1.03)
    share.set_title("what guidance does to the samples")
    share.legend()
    for axes in (trajectory, share):
        axes.grid(True, alpha=0.3)
    figure.suptitle(title)
    return figure


def wrap_label(text: str, width: int) -> str:
    """`text` broken into lines of at most `width` characters (where it can be) at its spaces, but never
    inside brackets, so that a value such as [[1, 0.5]] stays on one line."""
    words, depth, current = [], 0, ""
    for character in text:
        if character == " " and depth == 0:
            words.append(current)
            current = ""
            continue
        depth += (character in "([{") - (character in ")]}")
        current += character
    words.append(current)
    # A lone separator (the / between an axis's keys) ends its line rather than starting the next.
    for i in range(len(words) - 1, 0, -1):
        if words[i] in SEPARATOR_WORDS:
            words[i - 1] += " " + words.pop(i)
    lines = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _categorical_order(values: list) -> list:
    """Numbers in increasing order then BASE_CONFIG_VALUE when that is all there is; else as given."""
    numbers = [value for value in values if value != BASE_CONFIG_VALUE]
    parsed = _as_numbers(numbers)
    if parsed is None:
        return values
    ordered = [value for _, value in sorted(zip(parsed, numbers))]
    return ordered + [value for value in values if value == BASE_CONFIG_VALUE]


def _legend_columns(labels: list, line_characters: int) -> int:
    """How many legend columns of these labels fit in about `line_characters` characters."""
    longest = max(len(line) for label in labels for line in label.split("\n"))
    return max(1, min(len(labels), line_characters // (longest + 6)))


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


def _all_positive(values: pd.Series) -> bool:
    finite = values[np.isfinite(values)]
    return len(finite) > 0 and finite.min() > 0


def _spans_decades(values: pd.Series) -> bool:
    """Whether positive values spread over two decades or more, where a log axis reads better."""
    finite = values[np.isfinite(values)]
    return len(finite) > 0 and finite.min() > 0 and finite.max() / finite.min() >= 100
