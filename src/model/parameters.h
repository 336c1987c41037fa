// Trainable tensors by checkpoint name, and groups of them sharing a learning rate. Every component
// that owns parameters (a drift network, an objective's log Z or flow network) exposes them this way.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace tilt {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

struct ParameterGroup {
  std::vector<NamedTensor> parameters;
  double lr;
};

// Prefixes every name with "<prefix>/".
std::vector<NamedTensor> prefixed(const std::string& prefix, std::vector<NamedTensor> parameters);

}  // namespace tilt
