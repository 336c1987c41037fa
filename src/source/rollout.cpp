#include "source/rollout.h"

#include <torch/torch.h>

#include <optional>

#include "model/learned_backward.h"
#include "pinned_rollout/pinned_rollout.h"
#include "process/pinned_brownian.h"

namespace tilt {
namespace {

// The whole rollout in one kernel call (kernels/pinned_rollout) when the process is the pinned
// Brownian motion, the policy is a fused network and the reference (if any) an analytic mixture;
// the same paths as the step-by-step loop below, up to float rounding.
std::optional<Trajectory> fused_rollout_forward(const Process& process, int64_t dim, const Drift* reference,
                                                const Drift& policy, const CounterRng& rng,
                                                uint32_t iteration, const BatchShard& shard,
                                                double exploration_std) {
  const auto* pinned = dynamic_cast<const PinnedBrownian*>(&process);
  kernels::FourierMlpCpu* network = policy.fused_network();
  const kernels::MixtureView* mixture = reference ? reference->fused_mixture() : nullptr;
  if (!pinned || !network || (reference && !mixture) || dim > kernels::kMaxFusedDim) return std::nullopt;
  kernels::PinnedRolloutSpec spec;
  spec.steps = pinned->steps();
  spec.batch = shard.count;
  spec.dim = static_cast<int>(dim);
  spec.sigma2 = static_cast<float>(pinned->sigma2());
  spec.exploration_std = exploration_std;
  spec.seed = rng.seed();
  spec.stream = static_cast<uint32_t>(RngStream::kRolloutNoise);
  spec.iteration = iteration;
  spec.row_begin = shard.begin;
  Trajectory out;
  out.origin = exploration_std > 0 ? Trajectory::Origin::kExplored : Trajectory::Origin::kOnPolicy;
  out.times = process.time_grid();
  out.states = torch::empty({spec.steps + 1, shard.count, dim}, torch::kFloat32);
  at::Tensor reference_drift;
  if (reference) reference_drift = torch::empty({spec.steps, shard.count, dim}, torch::kFloat32);
  const at::Tensor policy_output = torch::empty({spec.steps, shard.count, dim}, torch::kFloat32);
  kernels::pinned_rollout_cpu(spec, network, mixture, out.states.data_ptr<float>(),
                              reference ? reference_drift.data_ptr<float>() : nullptr, nullptr,
                              policy_output.data_ptr<float>());
  if (reference) out.extras[extras::kReferenceDrift] = reference_drift;
  out.extras[extras::kPolicyOutput] = policy_output;
  return out;
}

}  // namespace

Trajectory rollout_forward(const Process& process, int64_t dim, const Drift* reference, const Drift& policy,
                           const CounterRng& rng, uint32_t iteration, const BatchShard& shard,
                           double exploration_std) {
  torch::NoGradGuard no_grad;
  if (auto fused =
          fused_rollout_forward(process, dim, reference, policy, rng, iteration, shard, exploration_std))
    return *std::move(fused);
  const int steps = process.steps();
  const int64_t batch = shard.count;
  Trajectory out;
  out.origin = exploration_std > 0 ? Trajectory::Origin::kExplored : Trajectory::Origin::kOnPolicy;
  out.times = process.time_grid();
  out.states = torch::empty({steps + 1, batch, dim}, torch::kFloat32);
  out.states[0].copy_(process.initial_states(batch, dim));
  at::Tensor reference_drift;
  if (reference) reference_drift = torch::empty({steps, batch, dim}, torch::kFloat32);
  for (int i = 0; i < steps; ++i) {
    const at::Tensor x = out.states[i].unsqueeze(0);  // [1, B, D]
    const at::Tensor t = out.times.narrow(0, i, 1);
    StepKernel kernel = policy.kernel(x, t).at_step(0);
    if (reference) {
      const at::Tensor prior_drift = (*reference)(x, t)[0];
      reference_drift[i].copy_(prior_drift);
      kernel.drift = kernel.drift + prior_drift;
    }
    const at::Tensor noise = rng.normal(RngStream::kRolloutNoise, iteration, i, shard.begin, batch, dim);
    out.states[i + 1].copy_(process.forward_step(x[0], kernel, i, noise, exploration_std));
  }
  if (reference) out.extras[extras::kReferenceDrift] = reference_drift;
  return out;
}

Trajectory rollout_backward(const Process& process, const at::Tensor& terminal, const CounterRng& rng,
                            uint32_t iteration, const BatchShard& shard, const LearnedBackward* backward) {
  torch::NoGradGuard no_grad;
  const int steps = process.steps();
  const int64_t batch = terminal.size(0), dim = terminal.size(1);
  Trajectory out;
  out.origin = Trajectory::Origin::kBackward;
  out.times = process.time_grid();
  out.states = torch::empty({steps + 1, batch, dim}, torch::kFloat32);
  out.states[steps].copy_(terminal);
  out.states[0].copy_(process.initial_states(batch, dim));
  // Step 0 of the backward kernel ends at the fixed initial state, already in place.
  for (int i = steps - 1; i >= 1; --i) {
    const at::Tensor noise = rng.normal(RngStream::kBackwardNoise, iteration, i, shard.begin, batch, dim);
    const BackwardCorrection correction =
        backward ? (*backward)(out.states[i + 1].unsqueeze(0), out.times.narrow(0, i + 1, 1)).at_step(0)
                 : BackwardCorrection{};
    out.states[i].copy_(process.backward_step(out.states[i + 1], i, noise, correction));
  }
  return out;
}

}  // namespace tilt
