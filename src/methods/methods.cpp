#include "methods/methods.h"

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "dxmi/dxmi_config.h"
#include "dxmi/train_dxmi.h"
#include "guidance/guidance_config.h"
#include "guidance/train_guidance.h"
#include "mdm/mdm_config.h"
#include "mdm/train_mdm.h"
#include "tn/tn_config.h"
#include "tn/train_tn.h"

namespace tilt {
namespace {

// A training loop with its own config: loading validates the file, training runs it.
struct Method {
  std::string name;
  std::function<void(const std::filesystem::path&, const std::vector<std::string>&)> validate;
  std::function<TrainResult(const std::filesystem::path&, const std::vector<std::string>&,
                            const TrainOptions&, Communicator&)>
      train;
};

template <auto load, auto train>
Method entry(const std::string& name) {
  return {name, [](const auto& path, const auto& overrides) { load(path, overrides); },
          [](const auto& path, const auto& overrides, const auto& options, auto& comm) {
            return train(load(path, overrides), options, comm);
          }};
}

// The registry: one line a method.
const std::vector<Method>& methods() {
  static const std::vector<Method> table = {
      entry<&dxmi::load_dxmi_config, &dxmi::train_dxmi>("dxmi"),
      entry<&guidance::load_guidance_config, &guidance::train_guidance>("guidance"),
      entry<&mdm::load_mdm_config, &mdm::train_mdm>("mdm"),
      entry<&tn::load_tn_config, &tn::train_tn>("tn"),
  };
  return table;
}

// The method a config file names (nullptr: none, a sampler job); an Error for an unknown one.
const Method* find_method(const std::filesystem::path& path) {
  const std::string name = config_method(path);
  if (name.empty()) return nullptr;
  std::string known;
  for (const Method& method : methods()) {
    if (method.name == name) return &method;
    known += (known.empty() ? "" : ", ") + method.name;
  }
  throw Error(path.string() + ": config: 'method': unknown method '" + name + "' (choose " + known +
              ", or leave it out for a sampler job)");
}

}  // namespace

void validate_config_file(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  if (const Method* method = find_method(path))
    method->validate(path, overrides);
  else
    load_config(path, overrides);
}

TrainResult train_config_file(const std::filesystem::path& path, const std::vector<std::string>& overrides,
                              const TrainOptions& options, Communicator& comm) {
  if (const Method* method = find_method(path)) return method->train(path, overrides, options, comm);
  return train(load_config(path, overrides), options, comm);
}

}  // namespace tilt
