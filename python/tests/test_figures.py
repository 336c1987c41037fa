import unittest

import numpy as np
import pandas as pd

from fixtures import GRID_X, GRID_Y, gaussian_log_density
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tilt_analysis import figures
from tilt_analysis.sweep import BASE_CONFIG_VALUE, Axis


def summary_frame(lr_values: list, y_values: list, metrics=("mode_tv", "log_z_error")) -> pd.DataFrame:
    """A summarize()-shaped frame over train.lr x reward.y: mean 0.1 i + 0.01 j (+ 1 for log_z_error) at
    the i-th lr and j-th y value, std 0.01, n 3."""
    records = [
        {"train.lr": lr, "reward.y": y, "grid_point": f"train.lr={lr}, reward.y={y}", "metric": metric,
         "mean": 0.1 * i + 0.01 * j + k, "std": 0.01, "n": 3}
        for i, lr in enumerate(lr_values)
        for j, y in enumerate(y_values)
        for k, metric in enumerate(metrics)
    ]
    return pd.DataFrame(records)


def covarying_summary() -> pd.DataFrame:
    """train.lr in {0.002, 0.001}, then an explicit row setting reward.A and reward.y together."""
    points = [
        ("0.002", BASE_CONFIG_VALUE, BASE_CONFIG_VALUE),
        ("0.001", BASE_CONFIG_VALUE, BASE_CONFIG_VALUE),
        (BASE_CONFIG_VALUE, "[[1, 0.5], [0.25, 2]]", "[3, -1.5]"),
    ]
    records = [
        {"train.lr": lr, "reward.A": a, "reward.y": y, "grid_point": f"point {i}", "metric": "mode_tv",
         "mean": 0.1 * i, "std": 0.01, "n": 2}
        for i, (lr, a, y) in enumerate(points)
    ]
    return pd.DataFrame(records)


def tick_labels(axes) -> list:
    return [label.get_text() for label in axes.get_xticklabels()]


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

    def test_learned_energy_beside_the_exact_density(self):
        log_density = gaussian_log_density(GRID_X, GRID_Y)
        exact = {"x": GRID_X, "y": GRID_Y, "log_density": log_density}

        figure = figures.plot_energy(exact, -2 * log_density, title="Run r: learned energy")

        exact_axes, energy_axes = figure.axes[:2]
        self.assertEqual(exact_axes.get_title(), "exact log density")
        self.assertEqual(energy_axes.get_title(), "learned negative energy")
        for axes in (exact_axes, energy_axes):
            self.assertEqual((axes.get_xlabel(), axes.get_ylabel()), ("x1", "x2"))
        colorbar_labels = [axes.get_ylabel() for axes in figure.axes[2:]]
        self.assertTrue(any("log density" in label for label in colorbar_labels), colorbar_labels)
        self.assertTrue(any(label.startswith("learned -E (up to a constant") for label in colorbar_labels),
                        colorbar_labels)
        # The energy panel shows -E: the exact density's peak is the energy's brightest point.
        shown = energy_axes.collections[0].get_array().reshape(log_density.shape)
        self.assertEqual(np.unravel_index(np.argmax(shown), shown.shape),
                         np.unravel_index(np.argmax(log_density), log_density.shape))

    def test_image_grid_tiles_the_first_images_with_a_labelled_scale(self):
        images = np.arange(70 * 4 * 4, dtype=np.uint8).reshape(70, 4, 4)

        figure = figures.plot_image_grid(images, title="Run r: samples", columns=8)

        axes, colorbar_axes = figure.axes
        canvas = axes.get_images()[0].get_array()
        self.assertEqual(canvas.shape, (8 * 5 - 1, 8 * 5 - 1))
        np.testing.assert_array_equal(canvas[5:9, 10:14], images[10])  # row 2, column 3: image 10
        self.assertEqual(axes.get_title(), "Run r: samples (64 of 70 samples)")
        self.assertEqual((axes.get_xlabel(), axes.get_ylabel()), ("column", "first sample of the row"))
        self.assertEqual(colorbar_axes.get_ylabel(), "pixel value")

    def test_metrics_vs_numeric_axis_one_panel_per_metric_sorted_by_value_one_line_per_other_axis(self):
        summary = summary_frame(["0.01", "1e-4", "0.001"], ["[-6, 2]", "[0, 0]"])
        lr, y = Axis(("train.lr",)), Axis(("reward.y",))

        figure = figures.plot_metrics_vs_axis(summary, lr, [y], ["mode_tv", "log_z_error"], title="t")

        self.assertEqual([axes.get_title() for axes in figure.axes], ["mode_tv", "log_z_error"])
        mode_tv, log_z_error = figure.axes
        self.assertEqual(mode_tv.get_xscale(), "log")
        self.assertEqual(tick_labels(mode_tv), ["1e-4", "0.001", "0.01"], "ticks at the values, as swept")
        self.assertEqual(mode_tv.get_xlabel(), "train.lr")
        self.assertEqual(len(mode_tv.containers), 2, "one line per reward.y value")
        first_line = mode_tv.containers[0].lines[0]
        np.testing.assert_allclose(first_line.get_xdata(), [1e-4, 1e-3, 1e-2])
        np.testing.assert_allclose(first_line.get_ydata(), [0.1, 0.2, 0.0])
        np.testing.assert_allclose(log_z_error.containers[1].lines[0].get_ydata(), [1.11, 1.21, 1.01])
        (legend,) = figure.legends
        self.assertEqual(legend.get_title().get_text(), "reward.y")
        self.assertEqual([text.get_text() for text in legend.get_texts()], ["[-6, 2]", "[0, 0]"])
        self.assertEqual(figure._suptitle.get_text(), "t")

    def test_metrics_vs_covarying_keys_is_one_categorical_axis_with_joined_wrapped_labels(self):
        summary = covarying_summary()
        lr, reward = Axis(("train.lr",)), Axis(("reward.A", "reward.y"))

        figure = figures.plot_metrics_vs_axis(summary, reward, [lr], ["mode_tv"], title="t")

        (axes,) = figure.axes
        self.assertEqual(axes.get_xlabel(), "reward.A / reward.y")
        labels = tick_labels(axes)
        self.assertEqual(labels[0], BASE_CONFIG_VALUE, "a row setting none of the keys shows (config) once")
        self.assertEqual(labels[1].replace("\n", " "), "[[1, 0.5], [0.25, 2]] / [3, -1.5]")
        self.assertIn("\n", labels[1], "a long value is wrapped")
        self.assertTrue(all(len(line) <= 24 for line in labels[1].split("\n")), labels[1])
        # train.lr's values name the lines; the points that share a tick are spread around it.
        (legend,) = figure.legends
        legend_texts = [text.get_text() for text in legend.get_texts()]
        self.assertEqual(legend_texts, ["0.002", "0.001", BASE_CONFIG_VALUE])
        x_values = [container.lines[0].get_xdata()[0] for container in axes.containers]
        self.assertLess(x_values[0], 0)
        self.assertGreater(x_values[1], 0)
        self.assertEqual(x_values[2], 1)

    def test_numbers_and_config_on_one_axis_are_categorical_numbers_first_in_order(self):
        summary = covarying_summary()
        lr, reward = Axis(("train.lr",)), Axis(("reward.A", "reward.y"))

        figure = figures.plot_metrics_vs_axis(summary, lr, [reward], ["mode_tv"], title="t")

        (axes,) = figure.axes
        self.assertEqual(tick_labels(axes), ["0.001", "0.002", BASE_CONFIG_VALUE])
        np.testing.assert_allclose(
            axes.containers[0].lines[0].get_ydata(), [0.1, 0.0], err_msg="sorted by lr"
        )

    def test_metrics_vs_axis_without_other_axes_has_no_legend(self):
        summary = summary_frame(["0.001"], ["[0, 0]", "[-6, 2]"], metrics=("mode_tv",))

        figure = figures.plot_metrics_vs_axis(
            summary, Axis(("reward.y",)), [Axis(("train.lr",))], ["mode_tv"], title="t"
        )

        (axes,) = figure.axes
        self.assertEqual(tick_labels(axes), ["[0, 0]", "[-6, 2]"], "non-numeric values keep grid order")
        np.testing.assert_allclose(axes.containers[0].lines[0].get_ydata(), [0.0, 0.01])
        self.assertEqual(figure.legends, [], "train.lr takes one value: no line to tell apart")

    def test_wrap_label_breaks_at_spaces_outside_brackets_after_separators(self):
        self.assertEqual(figures.wrap_label("[[1, 0.5]] / [3] / 4", 16), "[[1, 0.5]] /\n[3] / 4")
        self.assertEqual(figures.wrap_label("[[1, 0.5], [0.25, 2]]", 5), "[[1, 0.5], [0.25, 2]]")
        self.assertEqual(figures.wrap_label("short", 16), "short")

    def test_training_curves_average_over_seeds_per_group(self):
        metrics = pd.DataFrame(
            {
                "grid_point": ["a"] * 4 + ["b"] * 2,
                "step": [0, 100, 0, 100, 0, 100],
                "loss": [4.0, 2.0, 6.0, 4.0, 1.0, 0.5],
                # Older metrics.csv files have timing columns; they get no panel.
                "iterations_per_s": [10.0] * 6,
                "elapsed_s": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
            }
        )

        figure = figures.plot_training_curves(metrics, title="t", group_by="grid_point")

        (axes,) = figure.axes
        self.assertEqual(axes.get_ylabel(), "loss", "timing columns get no panel")
        self.assertEqual(axes.get_yscale(), "log", "a positive loss is drawn on a log scale")
        line_a, line_b = axes.get_lines()
        np.testing.assert_allclose(line_a.get_ydata(), [5.0, 3.0])
        np.testing.assert_allclose(line_b.get_ydata(), [1.0, 0.5])
        self.assertEqual([text.get_text() for text in figure.legends[0].get_texts()], ["a", "b"])

    def test_training_curves_of_many_grid_points_keep_the_legend_below_the_panels(self):
        labels = [f"reward.A=[[1, 0.5]], reward.y=[{i}], reward.noise_variance=4 (2 seeds)" for i in range(4)]
        metrics = pd.DataFrame(
            {
                "grid_point": [label for label in labels for _ in range(2)],
                "step": [5, 10] * 4,
                "loss": [-1.0, 2.0] * 4,
                "log_z": [0.1, 0.2] * 4,
                "residual_std": [1.0, 2.0] * 4,
            }
        )

        figure = figures.plot_training_curves(metrics, title="t", group_by="grid_point")

        self.assertEqual([axes.get_ylabel() for axes in figure.axes], ["loss", "log_z", "residual_std"])
        self.assertEqual(figure.axes[0].get_yscale(), "linear", "a loss with a negative value stays linear")
        (legend,) = figure.legends
        texts = [text.get_text() for text in legend.get_texts()]
        self.assertEqual([text.replace("\n", " ") for text in texts], labels)
        self.assertTrue(all(len(line) <= 50 for text in texts for line in text.split("\n")), texts)
        FigureCanvasAgg(figure)
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        panels_bottom = min(axes.get_tightbbox(renderer).y0 for axes in figure.axes)
        self.assertLessEqual(
            legend.get_window_extent(renderer).y1, panels_bottom, "legend overlaps the panels"
        )


if __name__ == "__main__":
    unittest.main()
