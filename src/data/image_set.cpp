#include "data/image_set.h"

#include <torch/torch.h>

#include "core/config_section.h"
#include "core/error.h"
#include "data/idx_file.h"

namespace tilt::data {
namespace {

std::filesystem::path find_idx(const std::filesystem::path& directory, const std::string& stem) {
  for (const char* suffix : {"", ".gz"}) {
    const std::filesystem::path candidate = directory / (stem + suffix);
    if (std::filesystem::exists(candidate)) return candidate;
  }
  throw Error("data: neither '" + (directory / stem).string() + "' nor its .gz exists (Fashion-MNIST: " +
              "apt-get install dataset-fashion-mnist, then data.path: /usr/share/datasets/fashion-mnist)");
}

}  // namespace

void require_image_directory(const std::string& directory, const std::string& key) {
  if (!std::filesystem::is_directory(directory))
    config_fail(key, "'" + directory +
                         "' is not a directory (Fashion-MNIST: apt-get install dataset-fashion-mnist; "
                         "/usr/share/datasets/fashion-mnist)");
}

LabelledImages load_mnist_like(const std::filesystem::path& directory, const std::string& split) {
  if (!std::filesystem::is_directory(directory))
    throw Error("data: '" + directory.string() + "' is not a directory of IDX files");
  const auto images_path = find_idx(directory, split + "-images-idx3-ubyte");
  const auto labels_path = find_idx(directory, split + "-labels-idx1-ubyte");
  const at::Tensor pixels = read_idx(images_path);
  const at::Tensor labels = read_idx(labels_path);
  if (pixels.dim() != 3)
    throw Error("data: '" + images_path.string() + "' holds " + std::to_string(pixels.dim()) +
                "-dimensional data, not images [N, height, width]");
  if (labels.dim() != 1 || labels.size(0) != pixels.size(0))
    throw Error("data: '" + labels_path.string() + "' does not hold one label per image of '" +
                images_path.string() + "' (" + std::to_string(pixels.size(0)) + " images)");
  if (labels.max().item<int64_t>() >= kMnistClasses)
    throw Error("data: '" + labels_path.string() + "' has labels outside 0..9");
  LabelledImages set;
  set.height = static_cast<int>(pixels.size(1));
  set.width = static_cast<int>(pixels.size(2));
  set.images = pixels.reshape({pixels.size(0), -1}).to(torch::kFloat32).div_(127.5).sub_(1.0);
  set.labels = labels.to(torch::kInt64);
  return set;
}

LabelledImages select_class(const LabelledImages& set, int label) {
  if (label < 0 || label >= kMnistClasses) throw Error("data: class must be in 0..9");
  const at::Tensor chosen = (set.labels == label).nonzero().squeeze(1);
  LabelledImages out = set;
  out.images = set.images.index_select(0, chosen);
  out.labels = set.labels.index_select(0, chosen);
  return out;
}

at::Tensor to_pixels(const at::Tensor& images, int height, int width) {
  return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8).reshape({-1, height, width});
}

}  // namespace tilt::data
