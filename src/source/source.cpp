#include "source/source.h"

#include <torch/torch.h>

#include "core/error.h"
#include "source/rollout.h"

namespace tilt {

ForwardSource::ForwardSource(const SourceContext& context, const ExplorationConfig& exploration)
    : context_(context), exploration_(exploration) {}

double ForwardSource::exploration_std(uint32_t iteration) const {
  const ExplorationConfig& e = exploration_;
  const auto i = static_cast<int64_t>(iteration);
  if (e.std == 0 || i >= e.decay_until) return 0.0;
  if (i < e.hold) return e.std;
  return e.std * (1.0 - static_cast<double>(i - e.hold) / (e.decay_until - e.hold));
}

Trajectory ForwardSource::next(uint32_t iteration, const BatchShard& shard, Communicator&) {
  Trajectory out = rollout_forward(context_.process, context_.dim, context_.reference, context_.policy,
                                   context_.rng, iteration, shard, exploration_std(iteration));
  out.log_reward = context_.target.log_reward(out.states[out.steps()]);
  return out;
}

DataSource::DataSource(const SourceContext& context) : context_(context) {
  if (!context.target.truth()) throw Error("training on data needs a target with an exact sampler");
}

Trajectory DataSource::next(uint32_t iteration, const BatchShard& shard, Communicator&) {
  const at::Tensor data = context_.target.truth()->sample(context_.rng, iteration, shard.begin, shard.count);
  Trajectory out = rollout_backward(context_.process, data, context_.rng, iteration, shard);
  out.log_reward = context_.target.log_reward(data);
  return out;
}

std::unique_ptr<TrajectorySource> make_on_policy_source(const YAML::Node&, const Config& config,
                                                        const SourceContext& context) {
  return std::make_unique<ForwardSource>(context, config.train.exploration);
}

std::unique_ptr<TrajectorySource> make_data_source(const YAML::Node&, const Config&,
                                                   const SourceContext& context) {
  return std::make_unique<DataSource>(context);
}

Trajectory sample_on_policy(const SourceContext& context, uint32_t iteration, const BatchShard& shard) {
  Trajectory out = rollout_forward(context.process, context.dim, context.reference, context.policy,
                                   context.rng, iteration, shard, 0.0);
  out.log_reward = context.target.log_reward(out.states[out.steps()]);
  return out;
}

}  // namespace tilt
