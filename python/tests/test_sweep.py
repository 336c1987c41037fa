import json
import math
import shutil
import tempfile
import unittest
from pathlib import Path

import numpy as np
import pandas as pd

from fixtures import (
    FINISHED, LR_SWEEP_EVAL, METRICS_HEADER, METRICS_STEPS, REWARD_KEYS, write_covarying_sweep,
    write_lr_sweep, write_sweep,
)
from tilt_analysis import InputError, load_sweep, summarize
from tilt_analysis.sweep import BASE_CONFIG_VALUE, MAIN_METRICS, Axis

GRID_A = "train.lr=0.001"
GRID_B = "train.lr=0.01"


class LoadSweepTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)
        self.sweep_dir = write_lr_sweep(self.root / "sweep")

    def tearDown(self):
        self.temp.cleanup()

    def test_one_row_per_manifest_row_with_params_state_and_grid_point(self):
        sweep = load_sweep(self.sweep_dir)
        rows = sweep.rows

        self.assertEqual(sweep.name, "test_sweep")
        self.assertEqual(sweep.keys, ["train.lr", "seed"])
        self.assertEqual(sweep.grid_keys, ["train.lr"])
        self.assertEqual(sweep.eval_metrics, ["samples", "log_z_error", "mode_tv", "iw_log_z"])
        self.assertEqual(rows.shape, (6, 5 + 2 + 1 + 4))
        self.assertEqual(list(rows["index"]), [0, 1, 2, 3, 4, 5])
        self.assertEqual(list(rows["state"]), ["finished"] * 4 + ["failed", "pending"])
        self.assertEqual(len(sweep.finished_rows), 4)
        self.assertEqual(list(rows["train.lr"]), ["0.001"] * 3 + ["0.01"] * 3)
        self.assertEqual(list(rows["seed"]), ["1", "2", "3"] * 2)
        self.assertEqual(list(rows["grid_point"]), [GRID_A] * 3 + [GRID_B] * 3)
        self.assertEqual(rows.loc[4, "exit_code"], 1)
        self.assertEqual(rows.loc[4, "attempts"], 2)
        self.assertTrue(pd.isna(rows.loc[5, "exit_code"]))
        self.assertEqual(Path(rows.loc[2, "run_dir"]), self.sweep_dir / "rows" / "002")

    def test_eval_metric_columns_are_floats_with_nan_where_missing(self):
        rows = load_sweep(self.sweep_dir).rows

        expected = [LR_SWEEP_EVAL[i]["mode_tv"] for i in range(4)] + [math.nan, math.nan]
        np.testing.assert_array_equal(rows["mode_tv"].to_numpy(), np.array(expected))
        self.assertEqual(rows["iw_log_z"].dtype, np.float64)
        self.assertTrue(math.isnan(rows.loc[1, "iw_log_z"]), "null must be NaN")

    def test_state_comes_from_eval_json_before_the_status_file(self):
        running = {"state": "running", "exit_code": None, "attempts": 1}
        (self.sweep_dir / "status" / "000.json").write_text(json.dumps(running))
        (self.sweep_dir / "status" / "004.json").write_text(json.dumps(FINISHED))

        states = list(load_sweep(self.sweep_dir).rows["state"])

        self.assertEqual(states[0], "finished", "a row with eval.json is finished whatever its status says")
        self.assertEqual(states[4], "failed", "a row without eval.json is not finished")

    def test_tolerates_a_missing_status_directory(self):
        shutil.rmtree(self.sweep_dir / "status")

        rows = load_sweep(self.sweep_dir).rows

        self.assertEqual(list(rows["state"]), ["finished"] * 4 + ["pending"] * 2)
        self.assertTrue(rows["exit_code"].isna().all())

    def test_grid_point_labels(self):
        only_seeds = write_sweep(
            self.root / "seeds", ["seed"],
            [{"params": {"seed": str(s)}, "status": None, "eval": {"mode_tv": 0.1}} for s in (1, 2)],
        )
        two_keys = write_sweep(
            self.root / "two_keys", ["reward.y", "train.lr", "seed"],
            [{"params": {"reward.y": "[-6, 2]", "train.lr": "0.001", "seed": "1"}, "status": None,
              "eval": None}],
        )

        self.assertEqual(list(load_sweep(only_seeds).rows["grid_point"]), ["(all)", "(all)"])
        self.assertEqual(load_sweep(two_keys).rows.loc[0, "grid_point"], "reward.y=[-6, 2], train.lr=0.001")

    def test_metrics_stacks_the_finished_rows_training_curves(self):
        metrics = load_sweep(self.sweep_dir).metrics()

        self.assertEqual(list(metrics.columns), ["index", "grid_point", "seed"] + METRICS_HEADER)
        self.assertEqual(len(metrics), 4 * len(METRICS_STEPS))
        self.assertEqual(
            sorted(metrics["index"].unique()), [0, 1, 2, 3], "the failed row's partial curve is left out"
        )
        row_3 = metrics[metrics["index"] == 3]
        self.assertEqual(set(row_3["grid_point"]), {GRID_B})
        self.assertEqual(set(row_3["seed"]), {1})
        self.assertEqual(list(row_3["step"]), METRICS_STEPS)

    def test_rejects_a_directory_without_manifest(self):
        with self.assertRaisesRegex(InputError, "manifest.json"):
            load_sweep(self.root)


class AxesTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)

    def tearDown(self):
        self.temp.cleanup()

    def test_keys_an_explicit_row_sets_together_form_one_axis_and_the_seed_none(self):
        sweep = load_sweep(write_covarying_sweep(self.root / "sweep"))

        self.assertEqual(sweep.axes, [Axis(("train.lr",)), Axis(tuple(REWARD_KEYS))])
        lr_axis, reward_axis = sweep.axes
        self.assertEqual(reward_axis.label, "reward.A / reward.y / reward.noise_variance")
        rows = sweep.rows
        self.assertEqual([lr_axis.value(row) for _, row in rows.iterrows()],
                         ["1.0e-3"] * 2 + ["2.0e-3"] * 2 + [BASE_CONFIG_VALUE] * 2)
        self.assertEqual([reward_axis.value(row) for _, row in rows.iterrows()],
                         [BASE_CONFIG_VALUE] * 4 + ["[[1, 0.5]] / [3] / 4"] * 2)

    def test_keys_of_a_full_grid_are_separate_axes(self):
        rows = [
            {"params": {"train.lr": lr, "reward.y": y, "seed": seed}, "status": FINISHED,
             "eval": {"mode_tv": 0.1}}
            for lr in ("0.001", "0.01") for y in ("[0]", "[3]") for seed in ("1", "2")
        ]
        sweep = load_sweep(write_sweep(self.root / "sweep", ["train.lr", "reward.y", "seed"], rows))

        self.assertEqual(sweep.axes, [Axis(("train.lr",)), Axis(("reward.y",))])

    def test_seed_only_sweep_has_no_axis(self):
        rows = [{"params": {"seed": s}, "status": FINISHED, "eval": {"mode_tv": 0.1}} for s in ("1", "2")]

        self.assertEqual(load_sweep(write_sweep(self.root / "sweep", ["seed"], rows)).axes, [])

    def test_main_metrics_follow_the_constant_order_not_eval_json_order(self):
        eval_metrics = {"energy_distance": 1.0, "samples": 64, "mode_tv": 0.1, "log_z_error": 0.2}
        rows = [{"params": {"seed": "1"}, "status": FINISHED, "eval": eval_metrics}]

        sweep = load_sweep(write_sweep(self.root / "sweep", ["seed"], rows))

        self.assertEqual(sweep.main_metrics, ["log_z_error", "mode_tv", "energy_distance"])
        self.assertEqual(MAIN_METRICS, [
            "log_z_error", "iw_log_z_error", "elbo_error", "mode_tv", "min_mode_fraction", "outside_mass",
            "test_elbo", "elbo_gap", "test_bpd", "sliced_w2", "mode_fraction_worst_rel_dev", "energy_distance",
        ])


class SummarizeTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)

    def tearDown(self):
        self.temp.cleanup()

    def test_mean_std_and_n_per_grid_point_and_metric(self):
        summary = summarize(load_sweep(write_lr_sweep(self.root / "sweep")))

        self.assertEqual(list(summary.columns), ["train.lr", "grid_point", "metric", "mean", "std", "n"])
        self.assertEqual(len(summary), 2 * 4)
        stats = summary.set_index(["grid_point", "metric"])
        for metric in ("log_z_error", "mode_tv"):
            values = np.array([LR_SWEEP_EVAL[i][metric] for i in (0, 1, 2)])
            self.assertAlmostEqual(stats.loc[(GRID_A, metric), "mean"], values.mean())
            self.assertAlmostEqual(stats.loc[(GRID_A, metric), "std"], values.std(ddof=1))
            self.assertEqual(stats.loc[(GRID_A, metric), "n"], 3)
            self.assertAlmostEqual(stats.loc[(GRID_B, metric), "mean"], LR_SWEEP_EVAL[3][metric])
            self.assertTrue(math.isnan(stats.loc[(GRID_B, metric), "std"]), "std of one value is NaN")
            self.assertEqual(stats.loc[(GRID_B, metric), "n"], 1)
        # Row 1 reports iw_log_z as null: it does not count.
        iw_values = np.array([LR_SWEEP_EVAL[0]["iw_log_z"], LR_SWEEP_EVAL[2]["iw_log_z"]])
        self.assertAlmostEqual(stats.loc[(GRID_A, "iw_log_z"), "mean"], iw_values.mean())
        self.assertAlmostEqual(stats.loc[(GRID_A, "iw_log_z"), "std"], iw_values.std(ddof=1))
        self.assertEqual(stats.loc[(GRID_A, "iw_log_z"), "n"], 2)

    def test_grid_point_without_finished_seed_has_n_zero(self):
        sweep_dir = write_sweep(
            self.root / "sweep", ["train.lr", "seed"],
            [
                {"params": {"train.lr": "0.001", "seed": "1"}, "status": FINISHED, "eval": {"mode_tv": 0.05}},
                {"params": {"train.lr": "0.01", "seed": "1"}, "eval": None,
                 "status": {"state": "preempted", "exit_code": None, "attempts": 1}},
            ],
        )

        stats = summarize(load_sweep(sweep_dir)).set_index("grid_point")

        self.assertEqual(stats.loc[GRID_B, "n"], 0)
        self.assertTrue(math.isnan(stats.loc[GRID_B, "mean"]))
        self.assertEqual(stats.loc[GRID_A, "n"], 1)


if __name__ == "__main__":
    unittest.main()
