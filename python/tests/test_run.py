import math
import tempfile
import unittest
from pathlib import Path

import numpy as np

from fixtures import (
    GRID_X, GRID_Y, METRICS_HEADER, METRICS_STEPS, SAMPLE_COUNT,
    gaussian_log_density, metrics_rows, write_run,
)
from tilt_analysis import InputError, load_run

EVAL = {"samples": 300, "log_z_learned": -6.48, "log_z_exact": -6.44, "log_z_error": -0.04, "iw_log_z": None}


class LoadRunTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.TemporaryDirectory()
        self.root = Path(self.temp.name)

    def tearDown(self):
        self.temp.cleanup()

    def test_loads_config_provenance_metrics_and_eval(self):
        run = load_run(write_run(self.root / "run", seed=7, eval_metrics=EVAL))

        self.assertEqual(run.name, "run")
        self.assertEqual(run.config["seed"], 7)
        self.assertEqual(run.config["train"]["lr"], 0.002)
        self.assertEqual(run.provenance["config_hash"], "abc123")
        self.assertEqual(run.provenance["sessions"][-1]["code_revision"], "659bbdb")
        self.assertEqual(list(run.metrics.columns), METRICS_HEADER)
        self.assertEqual(run.metrics.shape, (len(METRICS_STEPS), len(METRICS_HEADER)))
        np.testing.assert_allclose(run.metrics.to_numpy(), np.array(metrics_rows(7)))
        self.assertTrue(run.finished)
        self.assertEqual(run.eval["log_z_error"], -0.04)
        self.assertEqual(run.eval["samples"], 300.0)
        self.assertTrue(math.isnan(run.eval["iw_log_z"]), "null in eval.json must load as NaN")

    def test_samples_and_exact_density_grid(self):
        run = load_run(write_run(self.root / "run", eval_metrics=EVAL))

        samples, exact = run.samples()

        self.assertEqual(samples.shape, (SAMPLE_COUNT, 2))
        self.assertEqual(samples.dtype, np.float32)
        np.testing.assert_array_equal(exact["x"], GRID_X)
        np.testing.assert_array_equal(exact["y"], GRID_Y)
        self.assertEqual(exact["log_density"].shape, (len(GRID_Y), len(GRID_X)))
        np.testing.assert_array_equal(exact["log_density"], gaussian_log_density(GRID_X, GRID_Y))

    def test_learned_energy_on_the_exact_grid(self):
        energy = -gaussian_log_density(GRID_X, GRID_Y) / 2
        run = load_run(write_run(self.root / "run", eval_metrics=EVAL, energy=energy))

        np.testing.assert_array_equal(run.learned_energy(), energy)
        self.assertIsNone(load_run(write_run(self.root / "plain", eval_metrics=EVAL)).learned_energy())

    def test_learned_energy_on_another_grid_is_refused(self):
        run = load_run(write_run(self.root / "run", eval_metrics=EVAL, energy=np.zeros((3, 4))))

        with self.assertRaisesRegex(InputError, "/energy has shape"):
            run.learned_energy()

    def test_samples_without_exact_grid_beyond_two_dimensions(self):
        run = load_run(write_run(self.root / "run", eval_metrics=EVAL, dimension=3))

        samples, exact = run.samples()

        self.assertEqual(samples.shape, (SAMPLE_COUNT, 3))
        self.assertIsNone(exact)

    def test_tolerates_a_run_with_only_its_config(self):
        run = load_run(write_run(self.root / "run", provenance=False, metrics=False, samples=False))

        self.assertEqual(run.provenance, {})
        self.assertTrue(run.metrics.empty)
        self.assertIsNone(run.eval)
        self.assertFalse(run.finished)
        with self.assertRaisesRegex(InputError, "samples.h5"):
            run.samples()

    def test_rejects_missing_and_non_run_directories(self):
        with self.assertRaisesRegex(InputError, "no such directory"):
            load_run(self.root / "absent")
        with self.assertRaisesRegex(InputError, "not a tilt run directory"):
            load_run(self.root)

    def test_names_the_file_it_cannot_parse(self):
        run_dir = write_run(self.root / "run")
        (run_dir / "eval.json").write_text("{not json")

        with self.assertRaisesRegex(InputError, "eval.json"):
            load_run(run_dir)


if __name__ == "__main__":
    unittest.main()
