#include "data/data_sets.h"

#include <algorithm>
#include <array>

#include "core/config_section.h"

namespace tilt::data {
namespace {

constexpr std::array<const char*, 4> kDataSets = {"8gaussians", "checkerboard", "2spirals", "fashion_mnist"};
const char* const kImageDataSet = "fashion_mnist";

}  // namespace

void require_known_data_set(const std::string& name, const std::string& key) {
  if (std::find(kDataSets.begin(), kDataSets.end(), name) == kDataSets.end())
    config_fail(
        key, "unknown data set '" + name + "' (choose 8gaussians, checkerboard, 2spirals or fashion_mnist)");
}

bool is_image_data_set(const std::string& name) { return name == kImageDataSet; }

}  // namespace tilt::data
