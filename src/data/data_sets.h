// The data sets the generative methods (DxMI, multivariate diffusions) train on, by their config
// names: the 2-D densities with exact log-densities (data/density2d.h) and Fashion-MNIST's IDX image
// set (data/image_set.h).
#pragma once

#include <string>

namespace tilt::data {

// Throws the config error "unknown data set" at `key` unless `name` is one of them.
void require_known_data_set(const std::string& name, const std::string& key);
bool is_image_data_set(const std::string& name);

}  // namespace tilt::data
