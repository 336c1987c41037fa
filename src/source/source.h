// The trajectory-source seam: where an iteration's training batch comes from. A source is a
// stateful object (a replay buffer, an adapted step size) that the checkpoint saves and restores;
// the training step asks it for the batch of an iteration and never knows which source it is.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "model/drift.h"
#include "process/process.h"
#include "process/trajectory.h"
#include "target/target.h"

namespace tilt {

class LearnedBackward;

namespace io {
class H5File;
}

struct SourceContext {
  const Process& process;
  const Target& target;
  const Drift& policy;
  const Drift* reference;  // posterior tasks: the frozen prior's drift (the sampler is reference + policy)
  const CounterRng& rng;
  int64_t dim;
  const LearnedBackward* backward = nullptr;  // sampler tasks: the learned backward kernel, if any
};

class TrajectorySource {
 public:
  virtual ~TrajectorySource() = default;
  // This rank's rows `shard` of the global batch of `iteration`, with log R of every terminal state.
  virtual Trajectory next(uint32_t iteration, const BatchShard& shard, Communicator& comm) = 0;
  // Per-iteration figures for the metrics table (equal on every rank), e.g. the exploration std.
  virtual std::vector<std::string> metric_names() const { return {}; }
  virtual std::vector<double> metrics(uint32_t /*iteration*/) const { return {}; }
  // The source's state in a checkpoint, under "/source/...".
  virtual void save(io::H5File&) const {}
  virtual void load(const io::H5File&) {}
};

// Forward rollouts of the sampler with exploration noise on a schedule (hold, then linear decay).
class ForwardSource final : public TrajectorySource {
 public:
  ForwardSource(const SourceContext& context, const ExplorationConfig& exploration);
  Trajectory next(uint32_t iteration, const BatchShard& shard, Communicator& comm) override;
  std::vector<std::string> metric_names() const override { return {"exploration_std"}; }
  std::vector<double> metrics(uint32_t iteration) const override { return {exploration_std(iteration)}; }
  double exploration_std(uint32_t iteration) const;

 private:
  SourceContext context_;
  ExplorationConfig exploration_;
};

// Backward trajectories from exact samples of the target (maximum-likelihood training on data).
class DataSource final : public TrajectorySource {
 public:
  explicit DataSource(const SourceContext& context);
  Trajectory next(uint32_t iteration, const BatchShard& shard, Communicator& comm) override;

 private:
  SourceContext context_;
};

std::unique_ptr<TrajectorySource> make_on_policy_source(const YAML::Node& options, const Config& config,
                                                        const SourceContext& context);
std::unique_ptr<TrajectorySource> make_data_source(const YAML::Node& options, const Config& config,
                                                   const SourceContext& context);

// On-policy forward rollouts (no exploration) with log R: what evaluation and sampling draw.
Trajectory sample_on_policy(const SourceContext& context, uint32_t iteration, const BatchShard& shard);

}  // namespace tilt
