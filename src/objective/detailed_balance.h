// Detailed balance (research/rtb.md §1.2): for every step i,
//   delta_i = log F_i + step_term_i - log F_{i+1},   log F_T := log R(x_T),
// loss = 1/2 mean_b mean_i delta_i^2 - subtrajectory balance restricted to the T pairs of adjacent
// states with equal weights, so it is built as one (objective/subtrajectory_balance.h), with the same
// flow network, options (flow_lr, forward_looking, log_reward_floor) and forward-looking flows.
#pragma once

#include "objective/subtrajectory_balance.h"

namespace tilt {

struct DetailedBalanceOptions {
  SubTbOptions pairs;  // lambda 1, pairs of length 1
  static DetailedBalanceOptions read(ConfigSection& section);
  void write(YAML::Node& out) const { pairs.write_flow(out); }
};

std::unique_ptr<Objective> make_detailed_balance(const YAML::Node& options, const ObjectiveContext& context);

}  // namespace tilt
