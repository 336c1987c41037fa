#include "objective/detailed_balance.h"

namespace tilt {

DetailedBalanceOptions DetailedBalanceOptions::read(ConfigSection& section) {
  DetailedBalanceOptions o;
  o.flow_lr = section.get("flow_lr", o.flow_lr);
  require_positive(o.flow_lr, section.key_path("flow_lr"));
  o.forward_looking = section.get("forward_looking", o.forward_looking);
  o.floor.read(section);
  return o;
}

void DetailedBalanceOptions::write(YAML::Node& out) const {
  out["flow_lr"] = yaml_number(flow_lr);
  out["forward_looking"] = forward_looking;
  floor.write(out);
}

std::unique_ptr<Objective> make_detailed_balance(const YAML::Node& options, const ObjectiveContext& context) {
  const auto db = read_options<DetailedBalanceOptions>(options, "objective");
  SubTbOptions pairs;
  pairs.lambda = 1.0;
  pairs.max_length = 1;
  pairs.flow_lr = db.flow_lr;
  pairs.forward_looking = db.forward_looking;
  pairs.floor = db.floor;
  return std::make_unique<SubtrajectoryBalance>(context, pairs);
}

}  // namespace tilt
