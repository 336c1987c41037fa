// A labelled image set (Fashion-MNIST: data/image_set.h) as a guidance study's data: classifier-free
// guidance's training images and the ground truth its samples are judged against, where no exact
// score exists.
//   class direction   the class's mean image minus the other classes' mean image, normalised;
//   support           the pixel range [-1, 1] every image lies in; a final sample counts as inside
//                     when its root-mean-square distance to that box over the pixels is at most the
//                     noise level sigma(t_min) the sampler stops at (the class's own law p_{t_min} is
//                     an image plus noise sigma: its RMS excess is sigma sqrt(f / 2) for a share f of
//                     pixels at the range's ends, below sigma; a per-pixel 3 sigma test would reject
//                     ~40% of them: with half of 784 pixels at an end, 392 x 0.00135 = 0.53
//                     exceedances expected, e^-0.53 = 0.59 inside);
//   far edge          along u, the largest and smallest projections of the class's training images.
// Samples are training images drawn with replacement by global row (the same on any number of
// ranks), as many as training asks for.
#pragma once

#include <vector>

#include "data/image_set.h"
#include "guidance/class_data.h"

namespace tilt::guidance {

class ImageClasses final : public ClassData {
 public:
  explicit ImageClasses(data::LabelledImages images);

  int dim() const override { return static_cast<int>(images_.images.size(1)); }
  // 1 + the largest label; every class must have images.
  int classes() const override { return classes_; }
  bool bounded() const override { return true; }
  std::vector<double> class_direction(int label) const override;
  std::pair<double, double> support_projection(const std::vector<double>& u, int label) const override;
  at::Tensor in_support_at_noise(const at::Tensor& x, int label, double sigma) const override;
  // Uniform draws (step 0) pick each row's image among the class's (label -1: among all).
  at::Tensor sample(const CounterRng& rng, RngStream stream, uint32_t iteration, int64_t row_begin,
                    int64_t rows, int label = -1, at::Tensor* labels = nullptr) const override;
  std::pair<at::Tensor, at::Tensor> moments() const override;
  // /image_shape [2]: height and width.
  std::vector<std::pair<std::string, at::Tensor>> figure_data(double sigma) const override;

 private:
  // The indices of class z's images (label -1: every image), int64.
  const at::Tensor& class_indices(int label) const;

  data::LabelledImages images_;
  int classes_;
  std::vector<at::Tensor> indices_;  // [classes + 1]: every image's, then each class's (drawn every step)
};

}  // namespace tilt::guidance
