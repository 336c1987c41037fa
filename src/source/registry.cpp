#include "source/registry.h"

#include "source/differentiable.h"
#include "source/replay.h"
#include "source/source.h"

namespace tilt {

const std::vector<SourceKind>& source_kinds() {
  static const std::vector<SourceKind> kinds = {
      {"on_policy", false, resolve_options<NoOptions>, make_on_policy_source},
      {"data", true, resolve_options<NoOptions>, make_data_source},
      {"replay", false, resolve_options<ReplayOptions>, make_replay_source},
      {"differentiable", false, resolve_options<NoOptions>, make_differentiable_source},
  };
  return kinds;
}

const SourceKind& find_source_kind(const std::string& name, const std::string& key) {
  return find_kind(source_kinds(), name, key, "source");
}

std::unique_ptr<TrajectorySource> make_source(const Config& config, const SourceContext& context) {
  return find_source_kind(config.source.kind, "source.kind").make(config.source.options, config, context);
}

}  // namespace tilt
