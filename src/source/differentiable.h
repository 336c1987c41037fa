// A forward rollout that keeps the autograd graph through the chain (reparameterisation: x_{i+1} is a
// differentiable function of the drift's parameters), the one place tilt back-propagates through
// sampling: the PIS objective needs it. No exploration (the gradient is that of the sampler's own
// path measure); its memory grows with T x B x the network's activations.
#pragma once

#include "source/source.h"

namespace tilt {

class DifferentiableSource final : public TrajectorySource {
 public:
  explicit DifferentiableSource(const SourceContext& context) : context_(context) {}
  Trajectory next(uint32_t iteration, const BatchShard& shard, Communicator& comm) override;

 private:
  SourceContext context_;
};

std::unique_ptr<TrajectorySource> make_differentiable_source(const YAML::Node& options, const Config& config,
                                                             const SourceContext& context);

}  // namespace tilt
