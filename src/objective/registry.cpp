#include "objective/registry.h"

#include "objective/detailed_balance.h"
#include "objective/mle.h"
#include "objective/subtrajectory_balance.h"
#include "objective/trajectory_balance.h"
#include "objective/vargrad.h"

namespace tilt {

const std::vector<ObjectiveKind>& objective_kinds() {
  static const std::vector<ObjectiveKind> kinds = {
      {"tb", Task::kSampler, resolve_options<TrajectoryBalanceOptions>, make_trajectory_balance},
      {"rtb", Task::kPosterior, resolve_options<TrajectoryBalanceOptions>, make_trajectory_balance},
      {"mle", Task::kData, resolve_options<NoOptions>, make_maximum_likelihood},
      {"vargrad", Task::kSampler, resolve_options<VarGradOptions>, make_vargrad},
      {"subtb", Task::kSampler, resolve_options<SubTbOptions>, make_subtb},
      {"db", Task::kSampler, resolve_options<DetailedBalanceOptions>, make_detailed_balance},
  };
  return kinds;
}

const ObjectiveKind& find_objective_kind(const std::string& name, const std::string& key) {
  return find_kind(objective_kinds(), name, key, "objective");
}

}  // namespace tilt
