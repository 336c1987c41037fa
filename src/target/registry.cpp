#include "target/registry.h"

#include "target/funnel.h"
#include "target/manywell.h"
#include "target/mixture.h"
#include "target/torchscript.h"

namespace tilt {

const std::vector<TargetKind>& target_kinds() {
  static const std::vector<TargetKind> kinds = {
      {"mixture", true, resolve_mixture_target, mixture_target_dim, make_mixture_target},
      {"funnel", true, resolve_options<FunnelOptions>, funnel_dim, make_funnel},
      {"manywell", true, resolve_options<ManywellOptions>, manywell_dim, make_manywell},
      {"torchscript", false, resolve_options<TorchScriptTargetOptions>, torchscript_target_dim, make_torchscript_target},
  };
  return kinds;
}

const TargetKind& find_target_kind(const std::string& name, const std::string& key) {
  return find_kind(target_kinds(), name, key, "target");
}

}  // namespace tilt
