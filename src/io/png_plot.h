// PNG pictures of 2-D samples over a density, for a person to look at a run.
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

namespace tilt::io {

struct PlotBox {
  double x_min, x_max, y_min, y_max;
};

// Renders log_density on a width x height grid over `box` as a heat map (normalised to its
// maximum, shown on a log scale clipped `log_range` nats below the peak), then draws each sample
// (x, y pairs, row-major N x 2) as a small dot. log_density is called with a batch of points
// (row-major M x 2) and returns M log-densities. Writes atomically.
void write_density_png(const std::filesystem::path& path,
                       const std::function<std::vector<double>(const std::vector<double>&)>& log_density,
                       const std::vector<float>& samples_xy, const PlotBox& box, int width = 512,
                       int height = 512, double log_range = 12.0);

}  // namespace tilt::io
