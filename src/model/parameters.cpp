#include "model/parameters.h"

namespace tilt {

std::vector<NamedTensor> prefixed(const std::string& prefix, std::vector<NamedTensor> parameters) {
  for (auto& parameter : parameters) parameter.name = prefix + "/" + parameter.name;
  return parameters;
}

}  // namespace tilt
