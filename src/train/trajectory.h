// The trajectory value type that flows from rollout sources to objectives. Objectives never ask
// who made a batch: on-policy, explored and backward (bridge from stored terminal states)
// trajectories are scored the same way.
#pragma once

#include <ATen/core/Tensor.h>

namespace tilt {

struct Trajectory {
  enum class Origin { kOnPolicy, kExplored, kBackward };
  at::Tensor states;           // float32 [T + 1, B, D]; states[0] = 0
  at::Tensor reference_drift;  // float32 [T, B, D]: the frozen prior's drift along the path (rtb only)
  at::Tensor log_reward;       // float32 [B]: log R(states[T])
  Origin origin = Origin::kOnPolicy;

  int64_t batch() const { return states.size(1); }
  int steps() const { return static_cast<int>(states.size(0)) - 1; }
};

}  // namespace tilt
