// Rollouts through a process, without autograd (objectives recompute what needs gradients). The
// noise for global row b of the batch is drawn from the counter stream, so the split across ranks
// does not change the paths. Neither computes log R: the caller's source does.
#pragma once

#include "core/rng.h"
#include "dist/communicator.h"
#include "model/drift.h"
#include "process/process.h"
#include "process/trajectory.h"

namespace tilt {

class LearnedBackward;

// From the process's initial states under drift reference + policy (reference may be null). The
// kernel is widened by exploration_std; the reference drift along the path is kept as an extra.
Trajectory rollout_forward(const Process& process, int64_t dim, const Drift* reference, const Drift& policy,
                           const CounterRng& rng, uint32_t iteration, const BatchShard& shard,
                           double exploration_std);

// Backward trajectories from given terminal states [B, D] under the process's fixed backward kernel,
// or under its learned correction when `backward` is given.
Trajectory rollout_backward(const Process& process, const at::Tensor& terminal, const CounterRng& rng,
                            uint32_t iteration, const BatchShard& shard,
                            const LearnedBackward* backward = nullptr);

}  // namespace tilt
