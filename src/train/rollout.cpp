#include "train/rollout.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {

Trajectory rollout_forward(const PinnedBrownian& process, int dim, const Drift* reference,
                           const Drift& learned, const LogReward& log_reward, const CounterRng& rng,
                           uint32_t iteration, const BatchShard& shard, double exploration_std) {
  torch::NoGradGuard no_grad;
  const int steps = process.steps();
  const int64_t batch = shard.count;
  Trajectory out;
  out.origin = exploration_std > 0 ? Trajectory::Origin::kExplored : Trajectory::Origin::kOnPolicy;
  out.states = torch::zeros({steps + 1, batch, dim}, torch::kFloat32);
  if (reference) out.reference_drift = torch::empty({steps, batch, dim}, torch::kFloat32);
  const double noise_scale = std::sqrt(process.dt() * process.sigma2() + exploration_std * exploration_std);
  for (int i = 0; i < steps; ++i) {
    const at::Tensor x = out.states[i].unsqueeze(0);  // [1, B, D]
    const at::Tensor t = process.times(i, 1);
    at::Tensor drift = learned(x, t);
    if (reference) {
      const at::Tensor prior_drift = (*reference)(x, t);
      out.reference_drift[i].copy_(prior_drift[0]);
      drift = drift + prior_drift;
    }
    const at::Tensor noise = rng.normal(RngStream::kRolloutNoise, iteration, i, shard.begin, batch, dim);
    out.states[i + 1].copy_(x[0] + process.dt() * drift[0] + noise_scale * noise);
  }
  out.log_reward = log_reward(out.states[steps]);
  return out;
}

Trajectory rollout_backward(const PinnedBrownian& process, const at::Tensor& terminal,
                            const LogReward& log_reward, const CounterRng& rng, uint32_t iteration,
                            const BatchShard& shard) {
  torch::NoGradGuard no_grad;
  const int steps = process.steps();
  const int64_t batch = terminal.size(0), dim = terminal.size(1);
  Trajectory out;
  out.origin = Trajectory::Origin::kBackward;
  out.states = torch::zeros({steps + 1, batch, dim}, torch::kFloat32);
  out.states[steps].copy_(terminal);
  // Step 0 of the bridge is the point mass at x_0 = 0, already in place.
  for (int i = steps - 1; i >= 1; --i) {
    const at::Tensor noise = rng.normal(RngStream::kBackwardNoise, iteration, i, shard.begin, batch, dim);
    out.states[i].copy_(process.backward_step(out.states[i + 1], i, noise));
  }
  out.log_reward = log_reward(terminal);
  return out;
}

}  // namespace tilt
