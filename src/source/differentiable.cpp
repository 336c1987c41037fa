#include "source/differentiable.h"

#include <torch/torch.h>

#include "core/config_section.h"

namespace tilt {

Trajectory DifferentiableSource::next(uint32_t iteration, const BatchShard& shard, Communicator&) {
  const Process& process = context_.process;
  const int steps = process.steps();
  const int64_t batch = shard.count, dim = context_.dim;
  Trajectory out;
  out.times = process.time_grid();
  std::vector<at::Tensor> states{process.initial_states(batch, dim)};
  for (int i = 0; i < steps; ++i) {
    const at::Tensor x = states.back().unsqueeze(0);
    const at::Tensor t = out.times.narrow(0, i, 1);
    StepKernel kernel = context_.policy.kernel(x, t).at_step(0);
    if (context_.reference) kernel.drift = kernel.drift + (*context_.reference)(x, t)[0];
    const at::Tensor noise =
        context_.rng.normal(RngStream::kRolloutNoise, iteration, i, shard.begin, batch, dim);
    states.push_back(process.forward_step(states.back(), kernel, i, noise, 0.0));
  }
  out.states = torch::stack(states);
  {
    torch::NoGradGuard no_grad;
    out.log_reward = context_.target.log_reward(out.states[steps]);
  }
  return out;
}

std::unique_ptr<TrajectorySource> make_differentiable_source(const YAML::Node& options, const Config&,
                                                             const SourceContext& context) {
  read_options<NoOptions>(options, "source");
  return std::make_unique<DifferentiableSource>(context);
}

}  // namespace tilt
