// Trajectory sources, run without autograd (the objectives recompute what needs gradients).
#pragma once

#include "core/rng.h"
#include "dist/communicator.h"
#include "model/drift.h"
#include "process/pinned_brownian.h"
#include "target/target.h"
#include "train/trajectory.h"

namespace tilt {

// Euler-Maruyama from x_0 = 0 under drift reference + learned (reference may be null: zero). Each
// increment is dt u + sqrt(dt sigma2 + exploration_std^2) xi: exploration widens the kernel, while
// log-probabilities are always taken under the unexplored one. The noise for global row b of the
// batch is drawn from the counter stream, so the split across ranks does not change the paths.
Trajectory rollout_forward(const PinnedBrownian& process, int dim, const Drift* reference,
                           const Drift& learned, const LogReward& log_reward, const CounterRng& rng,
                           uint32_t iteration, const BatchShard& shard, double exploration_std);

// Backward (Brownian-bridge) trajectories from given terminal states [B, D] down to x_0 = 0.
Trajectory rollout_backward(const PinnedBrownian& process, const at::Tensor& terminal,
                            const LogReward& log_reward, const CounterRng& rng, uint32_t iteration,
                            const BatchShard& shard);

}  // namespace tilt
