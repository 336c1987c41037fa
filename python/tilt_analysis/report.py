"""Markdown reports (report.md, summary.csv, PNG figures) of a run or a sweep directory."""

import math
import re
from pathlib import Path

import pandas as pd
import yaml

from . import figures
from .files import InputError
from .run import (
    CONFIG_FILE, FREDKIN_STUDY_FILE, GUIDANCE_STUDY_FILE, STUDY_FILE, Run, load_run, read_fredkin_study,
    read_guidance_study, read_images, read_study, read_study_distributions,
)
from .sweep import BASE_CONFIG_VALUE, MAIN_METRICS, STATES, Sweep, is_sweep_dir, load_sweep, summarize

REPORT_FILE = "report.md"
SUMMARY_FILE = "summary.csv"
RUN_TRAINING_FIGURE = "training.png"
RUN_SAMPLES_FIGURE = "samples.png"
SWEEP_TRAINING_FIGURE = "training_curves.png"
STUDY_FIGURE = "tn_study.png"
DISTRIBUTIONS_FIGURE = "tn_distributions.png"
FREDKIN_FIGURE = "fredkin_study.png"
GUIDANCE_FIGURE = "guidance_study.png"
ENERGY_FIGURE = "energy.png"
# Shown in place of a statistic that does not exist (no finished seed, metric not finite).
MISSING = "–"
# The id of the i-th grid point (from 1, in grid order), heading its column in the "All metrics" table.
GRID_POINT_ID = "P{}"


def write_report(path, out_dir=None) -> list:
    """Writes the report of the run or sweep directory `path` into `out_dir` (default PATH/report) and
    returns the paths written, report.md first."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"no such directory: {path}")
    out_dir = Path(out_dir) if out_dir is not None else path / "report"
    if is_sweep_dir(path):
        sweep = load_sweep(path)
        out_dir.mkdir(parents=True, exist_ok=True)
        return write_sweep_report(sweep, out_dir)
    if (path / CONFIG_FILE).exists():
        run = load_run(path)
        out_dir.mkdir(parents=True, exist_ok=True)
        return write_run_report(run, out_dir)
    raise InputError(
        f"{path} is neither a tilt run directory (no {CONFIG_FILE}) nor a sweep directory (no manifest.json)"
    )


def draw_run_figures(run: Run, out_dir: Path) -> list:
    """Draws training.png (when metrics were logged) and samples.png (when samples.h5 exists) into
    out_dir; returns the paths drawn."""
    drawn = []
    if "step" in run.metrics.columns and figures.training_columns(run.metrics):
        figure = figures.plot_training_curves(run.metrics, title=f"Run {run.name}: training curves")
        drawn.append(figures.save(figure, out_dir / RUN_TRAINING_FIGURE))
    images = read_images(run.samples_path) if run.samples_path.exists() else None
    if images is not None:
        figure = figures.plot_image_grid(images, title=f"Run {run.name}: samples")
        drawn.append(figures.save(figure, out_dir / RUN_SAMPLES_FIGURE))
    elif run.samples_path.exists():
        samples, exact = run.samples()
        title = f"Run {run.name}: samples" + (" over the exact target" if exact is not None else "")
        figure = figures.plot_samples(samples, exact, title=title)
        drawn.append(figures.save(figure, out_dir / RUN_SAMPLES_FIGURE))
        energy = run.learned_energy()
        if energy is not None:
            figure = figures.plot_energy(exact, energy, title=f"Run {run.name}: learned energy")
            drawn.append(figures.save(figure, out_dir / ENERGY_FIGURE))
    study = read_study(run.path / STUDY_FILE)
    if study is not None:
        figure = figures.plot_tn_study([(run.name, study)], title=f"Run {run.name}: Monte Carlo schemes")
        drawn.append(figures.save(figure, out_dir / STUDY_FIGURE))
    distributions = read_study_distributions(run.path / STUDY_FILE)
    if distributions is not None:
        figure = figures.plot_tn_distributions([(run.name, distributions)], title=f"Run {run.name}: distributions")
        drawn.append(figures.save(figure, out_dir / DISTRIBUTIONS_FIGURE))
    fredkin = read_fredkin_study(run.path / FREDKIN_STUDY_FILE)
    if fredkin is not None:
        figure = figures.plot_fredkin_study(fredkin, title=f"Run {run.name}: Fredkin chain, exact denoising")
        drawn.append(figures.save(figure, out_dir / FREDKIN_FIGURE))
    guidance = read_guidance_study(run.path / GUIDANCE_STUDY_FILE)
    if guidance is not None:
        figure = figures.plot_guidance_study(guidance, title=f"Run {run.name}: guidance scales")
        drawn.append(figures.save(figure, out_dir / GUIDANCE_FIGURE))
    return drawn


def write_run_report(run: Run, out_dir: Path) -> list:
    drawn = draw_run_figures(run, out_dir)
    drawn_names = {figure.name for figure in drawn}
    summary = pd.DataFrame(list((run.eval or {}).items()), columns=["metric", "value"])
    summary.to_csv(out_dir / SUMMARY_FILE, index=False)

    lines = [f"# Run `{run.name}`", "", f"- directory: `{run.path.resolve()}`"]
    lines += [f"- {label}: {value}" for label, value in _run_facts(run)]
    lines += ["", "## Evaluation", ""]
    if run.eval is None:
        lines.append("Not finished: the run has no eval.json yet.")
    else:
        table_rows = [[name, _format_number(value)] for name, value in run.eval.items()]
        lines += _markdown_table(["metric", "value"], table_rows)
    lines += ["", "## Training curves", ""]
    if RUN_TRAINING_FIGURE in drawn_names:
        lines.append(_image(RUN_TRAINING_FIGURE, "training curves"))
    else:
        lines.append("No metrics logged yet.")
    lines += ["", "## Samples", ""]
    if RUN_SAMPLES_FIGURE in drawn_names:
        lines.append(_image(RUN_SAMPLES_FIGURE, "samples"))
    else:
        lines.append("No samples.h5 yet.")
    if ENERGY_FIGURE in drawn_names:
        lines += ["", "## Learned energy", "", _image(ENERGY_FIGURE, "learned energy beside the exact log density")]
    if STUDY_FIGURE in drawn_names:
        lines += ["", "## Monte Carlo schemes", "", _image(STUDY_FIGURE, "Monte Carlo schemes")]
    if DISTRIBUTIONS_FIGURE in drawn_names:
        lines += ["", _image(DISTRIBUTIONS_FIGURE, "energy and |m| distributions")]
    if FREDKIN_FIGURE in drawn_names:
        lines += ["", "## Exact denoising", "", _image(FREDKIN_FIGURE, "Fredkin denoising study")]
    if GUIDANCE_FIGURE in drawn_names:
        lines += ["", "## Guidance scales", "", _image(GUIDANCE_FIGURE, "guidance study")]
    lines += ["", "## Config", "", "```yaml", (run.path / "config.yaml").read_text().rstrip(), "```"]
    return _write_markdown(out_dir, lines) + [out_dir / SUMMARY_FILE] + drawn


def write_sweep_report(sweep: Sweep, out_dir: Path) -> list:
    summary = summarize(sweep)
    summary.to_csv(out_dir / SUMMARY_FILE, index=False)
    rows = sweep.rows
    state_counts = rows["state"].value_counts()
    # Known states in a fixed order, then any state a newer tilt may write.
    ordered_states = [s for s in STATES if s in state_counts]
    ordered_states += [s for s in state_counts.index if s not in STATES]
    counts = ", ".join(f"{state_counts[state]} {state}" for state in ordered_states)

    lines = [
        f"# Sweep `{sweep.name}`",
        "",
        f"- directory: `{sweep.path.resolve()}`",
        f"- base config: `{sweep.base_config}`",
        f"- swept keys: {', '.join(sweep.keys) or 'none'}",
        f"- rows: {len(rows)} ({counts or 'none'})",
        "",
        "## Evaluation metrics",
        "",
    ]
    lines += _results_section(sweep, summary)
    lines += ["", "## Failed and unfinished rows", ""]
    lines += _unfinished_section(sweep)

    drawn = []
    lines += ["", "## Metrics vs swept keys", ""]
    section, key_figures = _metric_vs_axis_section(sweep, summary, out_dir)
    lines += section
    drawn += key_figures

    study_figures = _draw_sweep_study(sweep, out_dir)
    if study_figures:
        lines += ["", "## Monte Carlo schemes", ""] + [_image(path.name, path.stem) for path in study_figures]
        drawn += study_figures

    lines += ["", "## Training curves", ""]
    training_figure = _draw_sweep_training(sweep, out_dir)
    if training_figure is None:
        lines.append("No finished row has training metrics.")
    else:
        lines.append(_image(training_figure.name, "training curves"))
        drawn.append(training_figure)
    return _write_markdown(out_dir, lines) + [out_dir / SUMMARY_FILE] + drawn


def _results_section(sweep: Sweep, summary: pd.DataFrame) -> list:
    """The compact table (one row per grid point: its axes' values and the main metrics) and the "All
    metrics" table (one row per eval metric, one column per grid point)."""
    if not sweep.eval_metrics:
        return ["No row has finished yet."]
    axes = sweep.axes
    main = sweep.main_metrics
    grid_points = list(dict.fromkeys(summary["grid_point"]))
    ids = {grid_point: GRID_POINT_ID.format(i) for i, grid_point in enumerate(grid_points, start=1)}
    cells = {
        (row["grid_point"], row["metric"]): _format_mean_std(row["mean"], row["std"], row["n"])
        for _, row in summary.iterrows()
    }
    points = summary.drop_duplicates("grid_point").set_index("grid_point")

    lines = [
        "Mean ± std over the finished seeds (in brackets: how many report a finite value); "
        f"{MISSING}: none do. `{BASE_CONFIG_VALUE}`: the row leaves the key at the base config's value.",
        "",
    ]
    if main:
        header = ["point"] + [axis.label for axis in axes] + main
        table_rows = [
            [ids[grid_point]]
            + [axis.value(points.loc[grid_point]) for axis in axes]
            + [cells[(grid_point, metric)] for metric in main]
            for grid_point in grid_points
        ]
        lines += _markdown_table(header, table_rows)
    else:
        lines.append(f"None of the main metrics ({', '.join(MAIN_METRICS)}) is reported: see below.")
    lines += ["", "### All metrics", ""]
    lines += [f"- {ids[grid_point]}: {grid_point}" for grid_point in grid_points]
    lines.append("")
    table_rows = [
        [metric] + [cells[(grid_point, metric)] for grid_point in grid_points]
        for metric in sweep.eval_metrics
    ]
    return lines + _markdown_table(["metric"] + [ids[grid_point] for grid_point in grid_points], table_rows)


def _unfinished_section(sweep: Sweep) -> list:
    unfinished = sweep.rows[sweep.rows["state"] != "finished"]
    if unfinished.empty:
        return ["none"]
    table_rows = [
        [
            str(row["index"]),
            ", ".join(f"{key}={row[key]}" for key in sweep.keys),
            row["state"],
            MISSING if pd.isna(row["exit_code"]) else str(row["exit_code"]),
        ]
        for _, row in unfinished.iterrows()
    ]
    return _markdown_table(["index", "params", "state", "exit code"], table_rows)


def _metric_vs_axis_section(sweep: Sweep, summary: pd.DataFrame, out_dir: Path) -> tuple:
    """One figure per axis of the grid that takes more than one value: a panel per main metric."""
    if summary["grid_point"].nunique() < 2:
        return ["One grid point only (only the seed varies): no metric-vs-key figure."], []
    main = sweep.main_metrics
    if not main:
        return [f"None of the main metrics ({', '.join(MAIN_METRICS)}) is reported: no figure."], []
    points = summary.drop_duplicates("grid_point")
    axes = sweep.axes
    drawn_axes = [axis for axis in axes if points.apply(axis.value, axis=1).nunique() > 1]
    lines = [
        "One figure per direction of the grid (keys that always change together form one), one panel per "
        "main metric: mean ± std over the finished seeds.",
        "",
    ]
    drawn = []
    for axis in drawn_axes:
        others = [other for other in axes if other != axis]
        title = f"Sweep {sweep.name}: metrics vs {axis.label} (mean ± std over seeds)"
        figure = figures.plot_metrics_vs_axis(summary, axis, others, main, title=title)
        file_name = f"metrics_vs_{'-'.join(_file_stem(key) for key in axis.keys)}.png"
        path = figures.save(figure, out_dir / file_name)
        drawn.append(path)
        lines += [f"### {axis.label}", "", _image(path.name, f"metrics vs {axis.label}"), ""]
    constant = [axis.label for axis in axes if axis not in drawn_axes]
    if constant:
        lines.append(f"Not drawn (one value in every grid point): {', '.join(constant)}.")
    return lines, drawn


def _draw_sweep_study(sweep: Sweep, out_dir: Path) -> list:
    """The finished rows' tensor-network studies, a line colour (distributions: a column) per row: the
    figures drawn (none without any study)."""
    studies, distributions = [], []
    for _, row in sweep.finished_rows.iterrows():
        path = Path(row["run_dir"]) / STUDY_FILE
        study = read_study(path)
        if study is None:
            continue
        # The first axis names the row (the others, e.g. a row's own budget, would crowd the legend).
        label = f"{sweep.axes[0].label}={sweep.axes[0].value(row)}" if sweep.axes else f"row {row['index']}"
        studies.append((label, study))
        rows_distributions = read_study_distributions(path)
        if rows_distributions is not None:
            distributions.append((label, rows_distributions))
    drawn = []
    if studies:
        figure = figures.plot_tn_study(studies, title=f"Sweep {sweep.name}: Monte Carlo schemes")
        drawn.append(figures.save(figure, out_dir / STUDY_FIGURE))
    if distributions:
        figure = figures.plot_tn_distributions(distributions, title=f"Sweep {sweep.name}: distributions")
        drawn.append(figures.save(figure, out_dir / DISTRIBUTIONS_FIGURE))
    return drawn


def _draw_sweep_training(sweep: Sweep, out_dir: Path):
    metrics = sweep.metrics()
    if "step" not in metrics.columns or not figures.training_columns(metrics):
        return None
    seed_counts = metrics.groupby("grid_point")["index"].nunique()
    labelled = metrics.assign(
        grid_point=metrics["grid_point"].map(lambda g: f"{g} ({_count(seed_counts[g], 'seed')})")
    )
    figure = figures.plot_training_curves(
        labelled,
        title=f"Sweep {sweep.name}: training curves (mean over seeds; band: min to max)",
        group_by="grid_point",
    )
    return figures.save(figure, out_dir / SWEEP_TRAINING_FIGURE)


def _run_facts(run: Run) -> list:
    """(label, value) lines about the run from its config and provenance, leaving out what is absent."""
    # tilt appends one provenance entry per session (a resumed run has several); the last one says what
    # code and layout produced the run's final state.
    sessions = run.provenance.get("sessions") or [{}]
    latest_session = sessions[-1] if isinstance(sessions[-1], dict) else {}
    objective = run.config.get("objective")
    candidates = [
        # A resolved config names the objective as {kind: ..., options}; older ones as a plain name.
        ("objective", objective.get("kind") if isinstance(objective, dict) else objective),
        ("seed", run.config.get("seed")),
        ("iterations", run.config.get("train", {}).get("iterations")),
        ("config hash", run.provenance.get("config_hash")),
        ("code revision", latest_session.get("code_revision")),
        ("code dirty", latest_session.get("code_dirty")),
        ("ranks", latest_session.get("ranks")),
        ("hosts", latest_session.get("hosts")),
        ("sessions", len(sessions) if len(sessions) > 1 else None),
    ]
    return [(label, f"`{value}`") for label, value in candidates if value is not None]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _format_number(value: float) -> str:
    return MISSING if math.isnan(value) else f"{value:.4g}"


def _format_mean_std(mean: float, std: float, n: int) -> str:
    if n == 0:
        return MISSING
    if math.isnan(std):
        return f"{mean:.4g} ({n})"
    return f"{mean:.4g} ± {std:.4g} ({n})"


def _markdown_table(header: list, rows: list) -> list:
    def line(cells):
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return [line(header), line(["---"] * len(header))] + [line(row) for row in rows]


def _image(file_name: str, alt_text: str) -> str:
    return f"![{alt_text}]({file_name})"


def _file_stem(name: str) -> str:
    """`name` with every character that could break a file name or a Markdown link replaced by _."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _write_markdown(out_dir: Path, lines: list) -> list:
    path = out_dir / REPORT_FILE
    path.write_text("\n".join(lines) + "\n")
    return [path]
