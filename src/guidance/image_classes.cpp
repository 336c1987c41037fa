#include "guidance/image_classes.h"

#include <torch/torch.h>

#include <string>

#include "core/error.h"

namespace tilt::guidance {
namespace {

void require_class(int label, int classes) {
  if (label < -1 || label >= classes)
    throw Error("guidance: class " + std::to_string(label) + " is not in 0.." + std::to_string(classes - 1));
}

}  // namespace

ImageClasses::ImageClasses(data::LabelledImages images)
    : images_(std::move(images)), classes_(static_cast<int>(images_.labels.max().item<int64_t>()) + 1) {
  indices_.push_back(torch::arange(images_.size(), torch::kInt64));
  for (int label = 0; label < classes_; ++label) {
    indices_.push_back((images_.labels == label).nonzero().squeeze(1));
    if (indices_.back().numel() == 0)
      throw Error("guidance: the image set has no image of class " + std::to_string(label));
  }
}

const at::Tensor& ImageClasses::class_indices(int label) const {
  require_class(label, classes());
  return indices_[static_cast<size_t>(label + 1)];
}

std::vector<double> ImageClasses::class_direction(int label) const {
  require_class(label, classes());
  if (label < 0) throw Error("guidance: the class direction needs a class");
  const at::Tensor in_class = images_.labels == label;
  const auto mean = [&](const at::Tensor& chosen) {
    return images_.images.index({chosen}).sum(0, false, torch::kFloat64) / chosen.sum().item<double>();
  };
  const at::Tensor difference = mean(in_class) - mean(in_class.logical_not());
  const at::Tensor u = (difference / difference.norm()).contiguous();
  return {u.data_ptr<double>(), u.data_ptr<double>() + u.numel()};
}

std::pair<double, double> ImageClasses::support_projection(const std::vector<double>& u, int label) const {
  const at::Tensor projection = images_.images.index_select(0, class_indices(label))
                                    .to(torch::kFloat64)
                                    .matmul(torch::tensor(u, torch::kFloat64));
  return {projection.min().item<double>(), projection.max().item<double>()};
}

at::Tensor ImageClasses::in_support_at_noise(const at::Tensor& x, int, double sigma) const {
  const at::Tensor excess = (x.abs() - 1).clamp_min(0);
  return excess.square().mean(1).sqrt() <= sigma;
}

at::Tensor ImageClasses::sample(const CounterRng& rng, RngStream stream, uint32_t iteration,
                                int64_t row_begin, int64_t rows, int label, at::Tensor* labels) const {
  const at::Tensor& candidates = class_indices(label);
  const int64_t count = candidates.size(0);
  const at::Tensor picks =
      (rng.uniform(stream, iteration, 0, row_begin, rows, 1).squeeze(1).to(torch::kFloat64) * count)
          .floor()
          .to(torch::kInt64)
          .clamp_max(count - 1);  // uniforms lie in (0, 1]
  const at::Tensor chosen = candidates.index_select(0, picks);
  if (labels) *labels = images_.labels.index_select(0, chosen);
  return images_.images.index_select(0, chosen).to(torch::kFloat64);
}

std::pair<at::Tensor, at::Tensor> ImageClasses::moments() const {
  const double n = static_cast<double>(images_.size());
  const at::Tensor mean = images_.images.sum(0, false, torch::kFloat64) / n;
  return {mean, images_.images.square().sum(0, false, torch::kFloat64) / n - mean.square()};
}

std::vector<std::pair<std::string, at::Tensor>> ImageClasses::figure_data(double) const {
  return {{"/image_shape", torch::tensor({images_.height, images_.width}, torch::kFloat64)}};
}

}  // namespace tilt::guidance
