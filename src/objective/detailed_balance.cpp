#include "objective/detailed_balance.h"

namespace tilt {

DetailedBalanceOptions DetailedBalanceOptions::read(ConfigSection& section) {
  DetailedBalanceOptions o{SubTbOptions::read_flow(section)};
  o.pairs.lambda = 1.0;
  o.pairs.max_length = 1;
  return o;
}

std::unique_ptr<Objective> make_detailed_balance(const YAML::Node& options, const ObjectiveContext& context) {
  return std::make_unique<SubtrajectoryBalance>(
      context, read_options<DetailedBalanceOptions>(options, "objective").pairs);
}

}  // namespace tilt
