// The labelled data a guidance study samples one class of and judges the samples against
// (guidance/scale_scan.h), behind one seam so that the scan is the same for exact mixtures
// (guidance/exact_mixture.h: the ground truth in closed form) and for image sets
// (guidance/image_classes.h: the ground truth as the training images).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace tilt::guidance {

class ClassData {
 public:
  virtual ~ClassData() = default;
  virtual int dim() const = 0;
  // The number of classes: labels are 0..classes() - 1.
  virtual int classes() const = 0;
  // Whether the data has a bounded support to leave (mixtures of uniforms, images); Gaussian
  // mixtures have none and are judged by Theorem 2's tail shares instead.
  virtual bool bounded() const = 0;
  // The unit vector from the other classes' mean to class z's (the one-vs-rest direction).
  virtual std::vector<double> class_direction(int label) const = 0;
  // The smallest and largest <u, x> over class z's support (unbounded data: -+inf).
  virtual std::pair<double, double> support_projection(const std::vector<double>& u, int label) const = 0;
  // Whether each final sample x [B, D] of a sampler that stops at noise level `sigma` (the forward
  // process's sigma(t_min) > 0) lies in class z's support, allowing for the noise left in it. [B]
  virtual at::Tensor in_support_at_noise(const at::Tensor& x, int label, double sigma) const = 0;
  // Samples of class z (label -1: of every class), float64 [rows, D], for global rows
  // [row_begin, row_begin + rows) of the given iteration: the same rows on any number of ranks.
  // `labels` (optional): set to each row's class, int64 [rows].
  virtual at::Tensor sample(const CounterRng& rng, RngStream stream, uint32_t iteration, int64_t row_begin,
                            int64_t rows, int label = -1, at::Tensor* labels = nullptr) const = 0;
  // The per-coordinate mean and variance of the data (every class), float64 [D] each.
  virtual std::pair<at::Tensor, at::Tensor> moments() const = 0;
  // What figures need beside the samples (names are HDF5 paths): a mixture's component boxes, an
  // image set's image shape.
  virtual std::vector<std::pair<std::string, at::Tensor>> figure_data(double sigma) const = 0;
};

}  // namespace tilt::guidance
