// Trainable tensors by checkpoint name, and groups of them sharing a learning rate. Every component
// that owns parameters (a drift network, an objective's log Z or flow network) exposes them this way.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

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

// A module's parameters under the module's own (dotted) names.
std::vector<NamedTensor> named_parameters(const torch::nn::Module& module);

// The tensors alone, in order (for collectives over a parameter list).
std::vector<at::Tensor> tensors_of(const std::vector<NamedTensor>& parameters);

}  // namespace tilt
