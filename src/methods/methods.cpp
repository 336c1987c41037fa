#include "methods/methods.h"

#include "core/config.h"
#include "core/error.h"
#include "dxmi/dxmi_config.h"
#include "dxmi/train_dxmi.h"
#include "mdm/mdm_config.h"
#include "mdm/train_mdm.h"

namespace tilt {
namespace {

void require_known_method(const std::filesystem::path& path, const std::string& method) {
  if (!method.empty() && method != "dxmi" && method != "mdm")
    throw Error(path.string() + ": config: 'method': unknown method '" + method +
                "' (choose dxmi or mdm, or leave it out for a sampler job)");
}

}  // namespace

void validate_config_file(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  const std::string method = config_method(path);
  require_known_method(path, method);
  if (method == "dxmi")
    dxmi::load_dxmi_config(path, overrides);
  else if (method == "mdm")
    mdm::load_mdm_config(path, overrides);
  else
    load_config(path, overrides);
}

TrainResult train_config_file(const std::filesystem::path& path, const std::vector<std::string>& overrides,
                              const TrainOptions& options, Communicator& comm) {
  const std::string method = config_method(path);
  require_known_method(path, method);
  if (method == "dxmi") return dxmi::train_dxmi(dxmi::load_dxmi_config(path, overrides), options, comm);
  if (method == "mdm") return mdm::train_mdm(mdm::load_mdm_config(path, overrides), options, comm);
  return train(load_config(path, overrides), options, comm);
}

}  // namespace tilt
