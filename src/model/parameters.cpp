#include "model/parameters.h"

#include <torch/nn/module.h>

namespace tilt {

std::vector<NamedTensor> prefixed(const std::string& prefix, std::vector<NamedTensor> parameters) {
  for (auto& parameter : parameters) parameter.name = prefix + "/" + parameter.name;
  return parameters;
}

std::vector<NamedTensor> named_parameters(const torch::nn::Module& module) {
  std::vector<NamedTensor> out;
  for (const auto& item : module.named_parameters()) out.push_back({item.key(), item.value()});
  return out;
}

std::vector<at::Tensor> tensors_of(const std::vector<NamedTensor>& parameters) {
  std::vector<at::Tensor> out;
  out.reserve(parameters.size());
  for (const auto& parameter : parameters) out.push_back(parameter.tensor);
  return out;
}

}  // namespace tilt
