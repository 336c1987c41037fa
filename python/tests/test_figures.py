import unittest

import numpy as np
import pandas as pd

from fixtures import GRID_X, GRID_Y, gaussian_log_density
from tilt_analysis import figures


def summary_frame(key_values: list, lr_values: list) -> pd.DataFrame:
    """A summarize()-shaped frame over reward.y x train.lr for the metric mode_tv."""
    records = [
        {"reward.y": y, "train.lr": lr, "metric": "mode_tv", "mean": 0.1 * i + 0.01 * j, "std": 0.01, "n": 3}
        for i, y in enumerate(key_values)
        for j, lr in enumerate(lr_values)
    ]
    return pd.DataFrame(records)


class FiguresTest(unittest.TestCase):
    def test_samples_over_exact_density_are_labelled(self):
        samples = np.random.default_rng(0).normal(size=(50, 2))
        exact = {"x": GRID_X, "y": GRID_Y, "log_density": gaussian_log_density(GRID_X, GRID_Y)}

        figure = figures.plot_samples(samples, exact, title="Run r")

        axes, colorbar_axes = figure.axes
        self.assertEqual([text.get_text() for text in axes.get_legend().get_texts()], ["tilt samples"])
        self.assertEqual((axes.get_xlabel(), axes.get_ylabel()), ("x1", "x2"))
        self.assertIn("log density", colorbar_axes.get_ylabel())
        self.assertEqual(axes.get_title(), "Run r (50 samples)")

    def test_metric_vs_numeric_key_sorts_by_value_with_one_line_per_other_key(self):
        summary = summary_frame(["[-6, 2]", "[0, 0]"], ["0.01", "1e-4", "0.001"])

        figure = figures.plot_metric_vs_key(summary, "mode_tv", "train.lr", ["reward.y"], title="t")

        axes = figure.axes[0]
        self.assertEqual(axes.get_xscale(), "log")
        self.assertEqual(len(axes.containers), 2)
        first_line = axes.containers[0].lines[0]
        np.testing.assert_allclose(first_line.get_xdata(), [1e-4, 1e-3, 1e-2])
        np.testing.assert_allclose(first_line.get_ydata(), [0.01, 0.02, 0.0])
        legend = [text.get_text() for text in axes.get_legend().get_texts()]
        self.assertEqual(legend, ["reward.y=[-6, 2]", "reward.y=[0, 0]"])
        self.assertEqual(axes.get_xlabel(), "train.lr")

    def test_metric_vs_categorical_key_keeps_grid_order_without_legend_for_one_line(self):
        summary = summary_frame(["[0, 0]", "[-6, 2]"], ["0.001"])

        figure = figures.plot_metric_vs_key(summary, "mode_tv", "reward.y", [], title="t")

        axes = figure.axes[0]
        self.assertEqual([label.get_text() for label in axes.get_xticklabels()], ["[0, 0]", "[-6, 2]"])
        np.testing.assert_allclose(axes.containers[0].lines[0].get_ydata(), [0.0, 0.1])
        self.assertIsNone(axes.get_legend())

    def test_training_curves_average_over_seeds_per_group(self):
        metrics = pd.DataFrame(
            {
                "grid_point": ["a"] * 4 + ["b"] * 2,
                "step": [0, 100, 0, 100, 0, 100],
                "loss": [4.0, 2.0, 6.0, 4.0, 1.0, 0.5],
                "elapsed_s": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
            }
        )

        figure = figures.plot_training_curves(metrics, title="t", group_by="grid_point")

        (axes,) = figure.axes
        self.assertEqual(axes.get_ylabel(), "loss", "timing columns get no panel")
        line_a, line_b = axes.get_lines()
        np.testing.assert_allclose(line_a.get_ydata(), [5.0, 3.0])
        np.testing.assert_allclose(line_b.get_ydata(), [1.0, 0.5])
        self.assertEqual([text.get_text() for text in figure.legends[0].get_texts()], ["a", "b"])


if __name__ == "__main__":
    unittest.main()
