"""Command line: `python3 -m tilt_analysis report PATH [--out DIR]` and `plot-run RUN_DIR [--out DIR]`."""

import argparse
import sys
from pathlib import Path

from .files import InputError
from .report import draw_run_figures, write_report
from .run import load_run

# Exit status for bad input, as argparse uses for bad arguments.
BAD_INPUT = 2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m tilt_analysis", description="Reports and figures of tilt runs and sweeps."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report", help="write report.md, summary.csv and figures of a run or sweep directory"
    )
    report.add_argument("path", type=Path, help="run directory or sweep directory (with manifest.json)")
    report.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: PATH/report)")
    plot_run = commands.add_parser("plot-run", help="draw a run's training.png and samples.png")
    plot_run.add_argument("run_dir", type=Path, help="run directory")
    plot_run.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: RUN_DIR)")
    arguments = parser.parse_args(argv)

    try:
        if arguments.command == "report":
            written = write_report(arguments.path, arguments.out)
        else:
            written = _plot_run(arguments.run_dir, arguments.out)
    except InputError as error:
        print(f"tilt_analysis: error: {error}", file=sys.stderr)
        return BAD_INPUT
    for path in written:
        print(path)
    return 0


def _plot_run(run_dir: Path, out_dir) -> list:
    run = load_run(run_dir)
    out_dir = out_dir if out_dir is not None else run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = draw_run_figures(run, out_dir)
    if not drawn:
        raise InputError(f"{run_dir} has neither logged metrics nor samples.h5: nothing to plot")
    return drawn
