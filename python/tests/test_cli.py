import contextlib
import io
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from fixtures import assert_nonblank_png, write_lr_sweep, write_run
from tilt_analysis.cli import main

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def run_module(*arguments) -> subprocess.CompletedProcess:
    """`python3 -m tilt_analysis ARGUMENTS` in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tilt_analysis", *map(str, arguments)],
        cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=120,
    )


def run_main(*arguments) -> tuple:
    """main() in this process (faster than a subprocess): (exit status, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main([str(argument) for argument in arguments])
    return status, stdout.getvalue(), stderr.getvalue()


class CliTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)

    def tearDown(self):
        self.temp.cleanup()

    def test_report_of_a_sweep_prints_the_paths_written(self):
        sweep_dir = write_lr_sweep(self.root / "sweep")

        result = run_module("report", sweep_dir, "--out", self.root / "out")

        self.assertEqual(result.returncode, 0, result.stderr)
        printed = [Path(line) for line in result.stdout.splitlines()]
        self.assertEqual(printed[0], self.root / "out" / "report.md")
        self.assertTrue(all(path.is_file() for path in printed))

    def test_missing_path_exits_2_with_one_line(self):
        result = run_module("report", self.root / "absent")

        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("no such directory", result.stderr)

    def test_directory_that_is_not_a_run_exits_2(self):
        status, stdout, stderr = run_main("report", self.root)

        self.assertEqual(status, 2)
        self.assertEqual(len(stderr.splitlines()), 1)
        self.assertIn("neither a tilt run directory", stderr)

    def test_plot_run_draws_into_the_run_directory(self):
        run_dir = write_run(self.root / "run", eval_metrics={"mode_tv": 0.04})

        status, stdout, _ = run_main("plot-run", run_dir)

        self.assertEqual(status, 0)
        self.assertEqual(stdout.splitlines(), [str(run_dir / "training.png"), str(run_dir / "samples.png")])
        assert_nonblank_png(self, run_dir / "training.png")
        assert_nonblank_png(self, run_dir / "samples.png")

    def test_plot_run_with_nothing_to_draw_exits_2(self):
        run_dir = write_run(self.root / "run", metrics=False, samples=False)

        status, _, stderr = run_main("plot-run", run_dir)

        self.assertEqual(status, 2)
        self.assertIn("nothing to plot", stderr)


if __name__ == "__main__":
    unittest.main()
