// A floor on log R inside a loss (research/rtb.md §2.3): trajectories that land where log R ~ -40
// otherwise swamp the ~1 nat differences that set the weights of the modes that matter. The floor
// changes the target to max(R, e^floor); evaluation reports by how much:
//   floored_fraction        the sampler's samples below the floor,
//   floored_fraction_exact  exact samples below it,
//   floor_log_z_shift       log Z of the floored target minus the true log Z,
//                           log E_exact[max(1, e^{floor - log R})] (what a learned log Z converges to).
#pragma once

#include <optional>

#include "core/config_section.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "objective/objective.h"

namespace tilt {

struct LogRewardFloor {
  std::optional<double> value;

  void read(ConfigSection& section);  // key `log_reward_floor`, optional
  void write(YAML::Node& out) const;
  at::Tensor apply(const at::Tensor& log_reward) const;
  Metrics metrics(const Trajectory& samples, const Target& target, const CounterRng& rng,
                  Communicator& comm) const;
};

}  // namespace tilt
