"""Load tilt run and sweep directories into pandas DataFrames, and draw their reports.

    from tilt_analysis import load_sweep, summarize
    sweep = load_sweep("runs/my_sweep")
    summarize(sweep)
"""

from .files import InputError
from .report import write_report
from .run import Run, load_run
from .sweep import Sweep, load_sweep, summarize

__all__ = ["InputError", "Run", "Sweep", "load_run", "load_sweep", "summarize", "write_report"]
