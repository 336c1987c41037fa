import re
import tempfile
import unittest
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from fixtures import (
    EVAL_METRIC_NAMES, FINISHED, GRID_X, GRID_Y, LR_SWEEP_EVAL, REWARD_AXIS_FIGURE, STUDY_SCHEMES,
    assert_nonblank_png, gaussian_log_density,
    covarying_eval, write_covarying_sweep, write_fredkin_study, write_guidance_study, write_lr_sweep, write_run, write_sweep,
    write_tn_study,
)
from tilt_analysis import InputError, load_sweep, summarize, write_report
from tilt_analysis.run import read_fredkin_study, read_guidance_study, read_study, read_study_distributions
from tilt_analysis.sweep import MAIN_METRICS


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
        figures = [p.name for p in self.written[2:]]
        self.assertEqual(figures, ["metrics_vs_train.lr.png", "training_curves.png"])
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
        compact, all_metrics = results.split("### All metrics")
        # Only the main metrics, in MAIN_METRICS order: not samples nor iw_log_z.
        self.assertIn("| point | train.lr | log_z_error | mode_tv |\n", compact)
        mean_std = f"{values.mean():.4g} ± {values.std(ddof=1):.4g} (3)"
        self.assertIn(f"| P1 | 0.001 | {mean_std} |", compact)
        self.assertIn("| P2 | 0.01 | 0.2 (1) | 0.12 (1) |\n", compact)
        self.assertIn("- P1: train.lr=0.001\n- P2: train.lr=0.01\n", all_metrics)
        self.assertIn("| metric | P1 | P2 |\n", all_metrics)
        self.assertIn("| samples | 300 ± 0 (3) | 300 (1) |\n", all_metrics)
        self.assertIn(f"| log_z_error | {mean_std} | 0.2 (1) |\n", all_metrics)
        self.assertIn("| iw_log_z | -6.43 ± 0.02828 (2) | -6.3 (1) |\n", all_metrics)

    def test_lists_failed_and_pending_rows(self):
        unfinished = section(self.markdown, "Failed and unfinished rows")
        self.assertIn("| 4 | train.lr=0.01, seed=2 | failed | 1 |", unfinished)
        self.assertIn("| 5 | train.lr=0.01, seed=3 | pending | – |", unfinished)
        self.assertNotIn("| 0 |", unfinished)
        self.assertIn("rows: 6 (4 finished, 1 failed, 1 pending)", self.markdown)


class CovaryingSweepReportTest(unittest.TestCase):
    """A grid over train.lr plus an explicit row setting three reward keys together, as tilt sweeps do."""

    @classmethod
    def setUpClass(cls):
        cls.temp = tempfile.TemporaryDirectory()
        cls.sweep_dir = write_covarying_sweep(Path(cls.temp.name) / "sweep")
        cls.written = write_report(cls.sweep_dir)
        cls.out_dir = cls.sweep_dir / "report"
        cls.markdown = (cls.out_dir / "report.md").read_text()
        compact, all_metrics = section(cls.markdown, "Evaluation metrics").split("### All metrics")
        cls.compact = table_lines(compact)
        cls.all_metrics = table_lines(all_metrics)

    @classmethod
    def tearDownClass(cls):
        cls.temp.cleanup()

    def test_one_figure_per_axis_with_one_panel_per_main_metric(self):
        names = [path.name for path in self.written[2:]]
        self.assertEqual(names, ["metrics_vs_train.lr.png", REWARD_AXIS_FIGURE, "training_curves.png"])
        self.assertEqual(sorted(p.name for p in self.out_dir.glob("*.png")), sorted(names))
        self.assertEqual(sorted(linked_images(self.out_dir / "report.md")), sorted(names))
        for path in self.written[2:]:
            assert_nonblank_png(self, path)
        self.assertIn("### reward.A / reward.y / reward.noise_variance\n", self.markdown)

    def test_compact_table_has_one_row_per_grid_point_axes_then_main_metrics(self):
        header, *rows = self.compact
        axes = ["train.lr", "reward.A / reward.y / reward.noise_variance"]
        reported = [name for name in MAIN_METRICS if name in EVAL_METRIC_NAMES]
        self.assertEqual(header, ["point"] + axes + reported)
        self.assertEqual([row[:3] for row in rows], [
            ["P1", "1.0e-3", "(config)"],
            ["P2", "2.0e-3", "(config)"],
            ["P3", "(config)", "[[1, 0.5]] / [3] / 4"],
        ])
        # Row 4 and 5 are P3's seeds.
        values = np.array([covarying_eval(i)["mode_tv"] for i in (4, 5)])
        self.assertEqual(rows[2][3 + reported.index("mode_tv")],
                         f"{values.mean():.4g} ± {values.std(ddof=1):.4g} (2)")

    def test_all_metrics_table_is_transposed_one_row_per_metric(self):
        header, *rows = self.all_metrics
        self.assertEqual(header, ["metric", "P1", "P2", "P3"])
        self.assertEqual([row[0] for row in rows], EVAL_METRIC_NAMES)
        by_metric = {row[0]: row[1:] for row in rows}
        values = np.array([covarying_eval(i)["energy_distance_exact_vs_exact"] for i in (2, 3)])
        self.assertEqual(by_metric["energy_distance_exact_vs_exact"][1],
                         f"{values.mean():.4g} ± {values.std(ddof=1):.4g} (2)")
        self.assertEqual(by_metric["samples"], ["64 ± 0 (2)"] * 3)
        self.assertIn("- P3: reward.A=[[1, 0.5]], reward.y=[3], reward.noise_variance=4", self.markdown)


def table_lines(markdown: str) -> list:
    """The cells of the first Markdown table in `markdown`, one list per line, without the --- line."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines if "---" not in line]


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
        assert_nonblank_png(self, self.root / "out" / "metrics_vs_reward.y.png")
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
        self.assertIn("| P1 | 0.001 | 0.05 (1) |", markdown)
        self.assertIn("| P2 | 0.01 | – |", markdown)
        self.assertIn("| mode_tv | 0.05 (1) | – |", markdown)
        unfinished = section(markdown, "Failed and unfinished rows")
        self.assertIn("| 1 | train.lr=0.01 | preempted | – |", unfinished)

    def test_one_grid_point_draws_no_metric_figure_and_says_so(self):
        rows = [
            {"params": {"train.lr": "0.001", "seed": seed}, "status": FINISHED,
             "eval": {"mode_tv": tv, "log_z_error": 0.1}}
            for seed, tv in (("1", 0.05), ("2", 0.07))
        ]
        sweep_dir = write_sweep(self.root / "sweep", ["train.lr", "seed"], rows)

        written = write_report(sweep_dir)

        self.assertEqual([path.name for path in written[2:]], ["training_curves.png"])
        markdown = (sweep_dir / "report" / "report.md").read_text()
        self.assertIn("One grid point only", section(markdown, "Metrics vs swept keys"))
        self.assertIn("| P1 | 0.001 | 0.1 ± 0 (2) | 0.06 ± 0.01414 (2) |", markdown)

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

    def test_run_report_draws_a_learned_energy(self):
        energy = -gaussian_log_density(GRID_X, GRID_Y)
        run_dir = write_run(self.root / "run", eval_metrics={"sliced_w2": 0.1}, energy=energy)

        written = write_report(run_dir)

        self.assertEqual([path.name for path in written][-1], "energy.png")
        self.assertIn("energy.png", linked_images(run_dir / "report" / "report.md"))
        assert_nonblank_png(self, run_dir / "report" / "energy.png")

    def test_tensor_network_run_report_draws_the_monte_carlo_study(self):
        run_dir = write_tn_study(write_run(self.root / "run", eval_metrics={"mps_kl_estimate": 1.5}))

        written = write_report(run_dir)

        self.assertEqual([p.name for p in written][-2:], ["tn_study.png", "tn_distributions.png"])
        for name in ("tn_study.png", "tn_distributions.png"):
            assert_nonblank_png(self, run_dir / "report" / name)
            self.assertIn(name, linked_images(run_dir / "report" / "report.md"))
        distributions = read_study_distributions(run_dir / "study.h5")
        self.assertEqual(distributions["rows"][:3], ["held_out", "mps", "local"])
        self.assertEqual(distributions["energy"].shape, (len(STUDY_SCHEMES) + 2, 29))
        study = read_study(run_dir / "study.h5")
        self.assertEqual(list(study["scheme"]), STUDY_SCHEMES)
        self.assertTrue(study["noise_time"].iloc[:3].isna().all())

    def test_fredkin_run_report_draws_the_denoising_study(self):
        run_dir = write_fredkin_study(write_run(self.root / "run", eval_metrics={"log_z": 3.0}, samples=False))

        written = write_report(run_dir)

        self.assertEqual([p.name for p in written][-1], "fredkin_study.png")
        assert_nonblank_png(self, run_dir / "report" / "fredkin_study.png")
        self.assertIn("fredkin_study.png", linked_images(run_dir / "report" / "report.md"))
        study = read_fredkin_study(run_dir / "fredkin_study.h5")
        self.assertEqual(list(study["profiles"]["bond"]), list(range(1, 12)))
        self.assertEqual(len(study["curves"]), 3)

    def test_guidance_run_report_draws_the_scale_study_in_one_and_two_dimensions(self):
        for dim in (1, 2):
            run_dir = write_guidance_study(write_run(self.root / f"run{dim}", eval_metrics={"prescribed_scale": 2.0},
                                                     samples=False), dim=dim)

            written = write_report(run_dir)

            self.assertEqual([p.name for p in written][-1], "guidance_study.png")
            assert_nonblank_png(self, run_dir / "report" / "guidance_study.png")
            self.assertIn("guidance_study.png", linked_images(run_dir / "report" / "report.md"))
            study = read_guidance_study(run_dir / "guidance_study.h5")
            self.assertEqual(list(study["shares"]["scale"]), [0.0, 2.0, 4.0])
            self.assertEqual(study["final_samples"].shape, (3, 50, dim))
            self.assertEqual(study["prescribed_scale"], 2.0)

    def test_guidance_run_report_draws_an_image_study_as_a_visual_sweep(self):
        run_dir = write_guidance_study(write_run(self.root / "images", eval_metrics={"prescribed_scale": 2.0},
                                                 samples=False), image_shape=(4, 4))

        write_report(run_dir)

        assert_nonblank_png(self, run_dir / "report" / "guidance_study.png")
        study = read_guidance_study(run_dir / "guidance_study.h5")
        self.assertEqual(study["image_shape"], (4, 4))
        self.assertEqual(study["component_boxes"].shape, (0, 2, 16))

    def test_guidance_study_of_images_of_the_wrong_size_is_refused(self):
        run_dir = write_guidance_study(write_run(self.root / "run"), image_shape=(4, 4))
        with h5py.File(run_dir / "guidance_study.h5", "r+") as file:
            del file["image_shape"]
            file["image_shape"] = np.array([3.0, 4.0])
        with self.assertRaisesRegex(InputError, "disagree in shape"):
            read_guidance_study(run_dir / "guidance_study.h5")

    def test_guidance_study_of_mismatched_shapes_is_refused(self):
        run_dir = write_guidance_study(write_run(self.root / "run"), mean_rows=2)
        with self.assertRaisesRegex(InputError, "disagree in shape"):
            read_guidance_study(run_dir / "guidance_study.h5")

    def test_fredkin_study_of_mismatched_lengths_is_refused(self):
        run_dir = write_fredkin_study(write_run(self.root / "run"), denoised_rows=2)
        with self.assertRaisesRegex(InputError, "disagree in length"):
            read_fredkin_study(run_dir / "fredkin_study.h5")

    def test_study_with_a_missing_value_is_refused(self):
        run_dir = write_tn_study(write_run(self.root / "run"), schemes=STUDY_SCHEMES + ["connected_t2"])
        with self.assertRaisesRegex(InputError, "one value per scheme"):
            read_study(run_dir / "study.h5")

    def test_sweep_report_draws_every_finished_rows_study_in_one_figure(self):
        sweep_dir = write_lr_sweep(self.root / "sweep")
        for index in LR_SWEEP_EVAL:
            write_tn_study(sweep_dir / f"rows/{index:03d}")

        written = write_report(sweep_dir)

        markdown = (sweep_dir / "report" / "report.md").read_text()
        for name in ("tn_study.png", "tn_distributions.png"):
            self.assertIn(name, [path.name for path in written])
            assert_nonblank_png(self, sweep_dir / "report" / name)
            self.assertIn(name, section(markdown, "Monte Carlo schemes"))

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
