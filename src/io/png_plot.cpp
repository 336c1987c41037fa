#include "io/png_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include "core/error.h"

// Static linkage keeps stb's symbols private to this file, so another file of the program may embed
// its own copy of the implementation without clashing.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace tilt::io {
namespace {

namespace fs = std::filesystem;

using Rgb = std::array<double, 3>;

// Matplotlib's viridis at 0, 1/8, ..., 1: perceptually uniform, and readable by colour-blind people.
constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                          {71, 45, 123},
                                          {59, 82, 139},
                                          {44, 114, 142},
                                          {33, 144, 140},
                                          {39, 173, 129},
                                          {93, 200, 99},
                                          {170, 220, 50},
                                          {253, 231, 37}}};

// t in [0, 1], linear between the stops.
Rgb viridis(double t) {
  const double position = t * (kViridis.size() - 1);
  const size_t below = std::min(static_cast<size_t>(position), kViridis.size() - 2);
  const double fraction = position - below;
  Rgb colour;
  for (size_t c = 0; c < 3; ++c) {
    colour[c] = kViridis[below][c] + fraction * (kViridis[below + 1][c] - kViridis[below][c]);
  }
  return colour;
}

}  // namespace

void write_density_png(const std::filesystem::path& path,
                       const std::function<std::vector<double>(const std::vector<double>&)>& log_density,
                       const std::vector<float>& samples_xy, const PlotBox& box, int width, int height,
                       double log_range) {
  const std::string where = "density plot " + path.string();
  if (width <= 0 || height <= 0) throw Error(where + ": the image size must be positive");
  if (!(box.x_max > box.x_min) || !(box.y_max > box.y_min)) throw Error(where + ": the box is empty");
  if (!(log_range > 0)) throw Error(where + ": log_range must be positive");
  if (samples_xy.size() % 2 != 0) throw Error(where + ": samples are not (x, y) pairs");

  const size_t pixels = static_cast<size_t>(width) * height;
  const double dx = (box.x_max - box.x_min) / width;
  const double dy = (box.y_max - box.y_min) / height;
  std::vector<double> centres(2 * pixels);
  for (int row = 0; row < height; ++row) {
    for (int col = 0; col < width; ++col) {
      const size_t i = static_cast<size_t>(row) * width + col;
      centres[2 * i] = box.x_min + (col + 0.5) * dx;
      centres[2 * i + 1] = box.y_max - (row + 0.5) * dy;  // row 0 is the top of the picture
    }
  }
  const std::vector<double> log_p = log_density(centres);
  if (log_p.size() != pixels) {
    throw Error(where + ": log_density returned " + std::to_string(log_p.size()) + " values for " +
                std::to_string(pixels) + " points");
  }

  // NaN and infinities are left out of the peak; with no finite value at all, every pixel is at the floor.
  double peak = -std::numeric_limits<double>::infinity();
  for (double value : log_p) {
    if (std::isfinite(value)) peak = std::max(peak, value);
  }
  std::vector<uint8_t> image(3 * pixels);
  for (size_t i = 0; i < pixels; ++i) {
    const double below_peak = std::isnan(log_p[i]) ? -log_range : log_p[i] - peak;
    const Rgb colour = viridis(1.0 + std::clamp(below_peak, -log_range, 0.0) / log_range);
    for (size_t c = 0; c < 3; ++c) image[3 * i + c] = static_cast<uint8_t>(std::lround(colour[c]));
  }

  // Each dot moves its 3x3 pixels halfway to white (rounding up, so that white is reached): overlapping
  // dots add up, which shows where samples crowd.
  for (size_t s = 0; s + 1 < samples_xy.size(); s += 2) {
    const double x = samples_xy[s];
    const double y = samples_xy[s + 1];
    // Negated so that NaN coordinates (a diverged sampler) are skipped too.
    if (!(x >= box.x_min && x <= box.x_max && y >= box.y_min && y <= box.y_max)) continue;
    const int centre_col = std::min(static_cast<int>((x - box.x_min) / dx), width - 1);
    const int centre_row = std::min(static_cast<int>((box.y_max - y) / dy), height - 1);
    for (int row = std::max(centre_row - 1, 0); row <= std::min(centre_row + 1, height - 1); ++row) {
      for (int col = std::max(centre_col - 1, 0); col <= std::min(centre_col + 1, width - 1); ++col) {
        uint8_t* pixel = &image[3 * (static_cast<size_t>(row) * width + col)];
        for (int c = 0; c < 3; ++c) pixel[c] = static_cast<uint8_t>(pixel[c] + (256 - pixel[c]) / 2);
      }
    }
  }

  fs::path temp = path;
  temp += ".tmp";
  const bool written = stbi_write_png(temp.c_str(), width, height, 3, image.data(), 3 * width) != 0;
  std::error_code error;
  if (written) fs::rename(temp, path, error);
  if (!written || error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error("cannot write " + where + (error ? ": " + error.message() : ""));
  }
}

}  // namespace tilt::io
