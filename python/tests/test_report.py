import re
import tempfile
import unittest
from pathlib import Path

import numpy as np
import pandas as pd

from fixtures import FINISHED, LR_SWEEP_EVAL, assert_nonblank_png, write_lr_sweep, write_run, write_sweep
from tilt_analysis import InputError, load_sweep, summarize, write_report


def linked_images(report: Path) -> list:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text())


def section(markdown: str, heading: str) -> str:
    """The text of a `## heading` section, up to the next one."""
    return markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


class SweepReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.temp = tempfile.TemporaryDirectory()
        cls.sweep_dir = write_lr_sweep(Path(cls.temp.name) / "sweep")
        cls.written = write_report(cls.sweep_dir)
        cls.out_dir = cls.sweep_dir / "report"
        cls.markdown = (cls.out_dir / "report.md").read_text()

    @classmethod
    def tearDownClass(cls):
        cls.temp.cleanup()

    def test_writes_report_summary_and_figures_into_the_default_directory(self):
        self.assertEqual(self.written[:2], [self.out_dir / "report.md", self.out_dir / "summary.csv"])
        figures = sorted(p.name for p in self.written[2:])
        # samples is 300 in every row, so it gets no figure.
        self.assertEqual(
            figures,
            [
                "iw_log_z_vs_train.lr.png", "log_z_error_vs_train.lr.png", "mode_tv_vs_train.lr.png",
                "training_curves.png",
            ],
        )
        for path in self.written[2:]:
            assert_nonblank_png(self, path)

    def test_every_linked_figure_exists(self):
        links = linked_images(self.out_dir / "report.md")
        self.assertEqual(sorted(links), sorted(p.name for p in self.written[2:]))

    def test_summary_csv_holds_the_summary(self):
        written = pd.read_csv(self.out_dir / "summary.csv", dtype={"train.lr": str})
        expected = summarize(load_sweep(self.sweep_dir))
        pd.testing.assert_frame_equal(written, expected, check_dtype=False)

    def test_table_shows_mean_std_and_n_per_grid_point(self):
        values = np.array([LR_SWEEP_EVAL[i]["log_z_error"] for i in (0, 1, 2)])
        results = section(self.markdown, "Evaluation metrics")
        self.assertIn("| train.lr | samples | log_z_error | mode_tv | iw_log_z |", results)
        mean_std = f"{values.mean():.4g} ± {values.std(ddof=1):.4g} (3)"
        self.assertIn(f"| 0.001 | 300 ± 0 (3) | {mean_std} |", results)
        self.assertIn("| 0.01 | 300 (1) | 0.2 (1) | 0.12 (1) | -6.3 (1) |", results)

    def test_lists_failed_and_pending_rows(self):
        unfinished = section(self.markdown, "Failed and unfinished rows")
        self.assertIn("| 4 | train.lr=0.01, seed=2 | failed | 1 |", unfinished)
        self.assertIn("| 5 | train.lr=0.01, seed=3 | pending | – |", unfinished)
        self.assertNotIn("| 0 |", unfinished)
        self.assertIn("rows: 6 (4 finished, 1 failed, 1 pending)", self.markdown)


class ReportVariantsTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)

    def tearDown(self):
        self.temp.cleanup()

    def test_sweep_without_failures_says_none(self):
        sweep_dir = write_sweep(
            self.root / "sweep", ["reward.y", "seed"],
            [{"params": {"reward.y": y, "seed": "1"}, "status": FINISHED, "eval": {"mode_tv": tv}}
             for y, tv in (("[-6, 2]", 0.05), ("[0, 0]", 0.02))],
        )

        written = write_report(sweep_dir, self.root / "out")

        markdown = (self.root / "out" / "report.md").read_text()
        self.assertEqual(section(markdown, "Failed and unfinished rows").strip(), "none")
        # reward.y's values are not numbers: a categorical axis, still drawn.
        assert_nonblank_png(self, self.root / "out" / "mode_tv_vs_reward.y.png")
        self.assertTrue(all(path.parent == self.root / "out" for path in written))

    def test_grid_point_without_finished_seed_shows_a_dash(self):
        preempted = {"state": "preempted", "exit_code": None, "attempts": 3}
        sweep_dir = write_sweep(
            self.root / "sweep", ["train.lr"],
            [
                {"params": {"train.lr": "0.001"}, "status": FINISHED, "eval": {"mode_tv": 0.05}},
                {"params": {"train.lr": "0.01"}, "status": preempted, "eval": None},
            ],
        )

        write_report(sweep_dir)

        markdown = (sweep_dir / "report" / "report.md").read_text()
        self.assertIn("| 0.001 | 0.05 (1) |", markdown)
        self.assertIn("| 0.01 | – |", markdown)
        unfinished = section(markdown, "Failed and unfinished rows")
        self.assertIn("| 1 | train.lr=0.01 | preempted | – |", unfinished)

    def test_run_report(self):
        eval_metrics = {"mode_tv": 0.04, "log_z_error": -0.0412345, "iw_log_z": None}
        run_dir = write_run(self.root / "run", eval_metrics=eval_metrics)

        written = write_report(run_dir)

        out_dir = run_dir / "report"
        names = [path.name for path in written]
        self.assertEqual(names, ["report.md", "summary.csv", "training.png", "samples.png"])
        markdown = (out_dir / "report.md").read_text()
        self.assertIn("- code revision: `659bbdb`", markdown, "the latest session's revision")
        self.assertIn("- sessions: `2`", markdown)
        self.assertIn("| mode_tv | 0.04 |", markdown)
        self.assertIn("| log_z_error | -0.04123 |", markdown)
        self.assertIn("| iw_log_z | – |", markdown)
        self.assertEqual(sorted(linked_images(out_dir / "report.md")), ["samples.png", "training.png"])
        assert_nonblank_png(self, out_dir / "training.png")
        assert_nonblank_png(self, out_dir / "samples.png")
        summary = pd.read_csv(out_dir / "summary.csv")
        self.assertEqual(list(summary["metric"]), ["mode_tv", "log_z_error", "iw_log_z"])

    def test_unfinished_run_report(self):
        run_dir = write_run(self.root / "run", samples=False)

        written = write_report(run_dir)

        self.assertEqual([p.name for p in written], ["report.md", "summary.csv", "training.png"])
        self.assertIn("Not finished", (run_dir / "report" / "report.md").read_text())

    def test_rejects_a_directory_that_is_neither_run_nor_sweep(self):
        with self.assertRaisesRegex(InputError, "neither a tilt run directory"):
            write_report(self.root)


if __name__ == "__main__":
    unittest.main()
