// The trajectory value type that flows from trajectory sources to objectives. Objectives never ask
// who made a batch; they read its origin only to know what it does not carry: a backward or
// replayed trajectory has no reference drift (nor behaviour log-probs) until one is computed for it.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace tilt {

struct Trajectory {
  enum class Origin { kOnPolicy, kExplored, kBackward, kReplayed };
  at::Tensor states;      // float32 [T + 1, B, D]
  at::Tensor times;       // float32 [T + 1]: t_0 .. t_T of the process that made it
  at::Tensor log_reward;  // float32 [B]: log R(states[T])
  // Optional, undefined when absent:
  at::Tensor behaviour_log_prob;  // float32 [T, B]: log-probs of the kernel that sampled each step
  at::Tensor step_log_reward;     // float32 [T + 1, B]: log R(x_i) at every state (forward-looking flows)
  std::map<std::string, at::Tensor> extras;  // by name, e.g. extras::kReferenceDrift
  Origin origin = Origin::kOnPolicy;

  int64_t batch() const { return states.size(1); }
  int steps() const { return static_cast<int>(states.size(0)) - 1; }
  bool has(const std::string& extra) const { return extras.count(extra) != 0; }
  const at::Tensor& extra(const std::string& name) const { return extras.at(name); }
};

namespace extras {
// float32 [T, B, D]: the frozen prior's drift at every step of the path (posterior tasks).
inline constexpr const char* kReferenceDrift = "reference_drift";
// float32 [T, B, O]: the trained policy network's outputs at every step of a fused forward rollout,
// with the parameters of that iteration: scoring reuses them instead of a second forward pass.
inline constexpr const char* kPolicyOutput = "policy_output";
}  // namespace extras

}  // namespace tilt
