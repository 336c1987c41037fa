#include "objective/registry.h"

#include "objective/detailed_balance.h"
#include "objective/mle.h"
#include "objective/pis.h"
#include "objective/reinforce_kl.h"
#include "objective/subtrajectory_balance.h"
#include "objective/trajectory_balance.h"
#include "objective/vargrad.h"

namespace tilt {

const std::vector<ObjectiveKind>& objective_kinds() {
  static const std::vector<ObjectiveKind> kinds = {
      {"tb", Task::kSampler, nullptr, resolve_options<TrajectoryBalanceOptions>, make_trajectory_balance},
      {"rtb", Task::kPosterior, nullptr, resolve_options<TrajectoryBalanceOptions>, make_trajectory_balance},
      {"mle", Task::kData, nullptr, resolve_options<NoOptions>, make_maximum_likelihood},
      {"vargrad", Task::kSampler, nullptr, resolve_options<VarGradOptions>, make_vargrad},
      {"relative_vargrad", Task::kPosterior, nullptr, resolve_options<VarGradOptions>, make_vargrad},
      {"subtb", Task::kSampler, nullptr, resolve_options<SubTbOptions>, make_subtb},
      {"db", Task::kSampler, nullptr, resolve_options<DetailedBalanceOptions>, make_detailed_balance},
      {"rl_kl", Task::kPosterior, nullptr, resolve_options<ReinforceKlOptions>, make_reinforce_kl},
      {"pis", Task::kSampler, "differentiable", resolve_options<NoOptions>, make_pis},
  };
  return kinds;
}

const ObjectiveKind& find_objective_kind(const std::string& name, const std::string& key) {
  return find_kind(objective_kinds(), name, key, "objective");
}

}  // namespace tilt
