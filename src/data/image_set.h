// An MNIST-like labelled image set (Fashion-MNIST from Debian's dataset-fashion-mnist:
// /usr/share/datasets/fashion-mnist) read from its IDX pair <split>-images-idx3-ubyte and
// <split>-labels-idx1-ubyte, gzip-compressed or not. Pixels are scaled from 0..255 to [-1, 1], the
// range DDPM trains on.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

namespace tilt::data {

struct LabelledImages {
  at::Tensor images;  // float32 [N, height * width] in [-1, 1]
  at::Tensor labels;  // int64 [N]
  int height = 0, width = 0;
  int64_t size() const { return images.size(0); }
};

inline constexpr int kMnistClasses = 10;

// A config error naming `key` unless `directory` is a directory (where to get Fashion-MNIST).
void require_image_directory(const std::string& directory, const std::string& key);
// split: "train" or "t10k". Images and labels must agree in count; labels must be 0..9.
LabelledImages load_mnist_like(const std::filesystem::path& directory, const std::string& split);
// The examples labelled `label` (one-class training for anomaly detection).
LabelledImages select_class(const LabelledImages& set, int label);
// float32 [N, height * width] in [-1, 1] -> uint8 [N, height, width] (for sample files and grids).
at::Tensor to_pixels(const at::Tensor& images, int height, int width);

}  // namespace tilt::data
