// A job assembled from a config: the process, target, frozen reference drift (rtb), learned network,
// log Z, objective, and the trajectory sources. The trainer, sampler and evaluator drive it without
// knowing which objective it is.
#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "model/fourier_mlp.h"
#include "objective/objective.h"
#include "process/pinned_brownian.h"
#include "target/target.h"
#include "train/adam.h"
#include "train/trajectory.h"

namespace tilt {

namespace io {
class H5File;
}

class Job {
 public:
  explicit Job(const Config& config);

  const Config& config() const { return config_; }
  const PinnedBrownian& process() const { return process_; }
  const Target& target() const { return target_; }
  const CounterRng& rng() const { return rng_; }
  Objective& objective() { return *objective_; }
  bool has_log_z() const { return config_.objective != ObjectiveKind::kMle; }
  double log_z() const;

  // The job's part of a checkpoint: parameters ("/parameters/<name>") and the noise state
  // ("/rng/seed", "/rng/iteration" = step). load() checks the seed against this job's.
  void save(io::H5File& file, int step) const;
  void load(const io::H5File& file);

  // Trainable parameters by checkpoint name, network first then log Z.
  std::vector<NamedTensor> parameters() const;
  Adam make_optimizer() const;

  // Exploration std epsilon at an iteration (hold, then linear decay to 0).
  double exploration_std(int iteration) const;
  // The batch an objective trains on at `iteration`: forward rollouts (rtb, tb) or bridges from
  // target samples (mle).
  Trajectory training_batch(uint32_t iteration, const BatchShard& shard) const;
  // On-policy forward rollouts of the trained sampler (no exploration) for evaluation and sampling;
  // `draw` selects an independent set of paths.
  Trajectory sample(uint32_t draw, const BatchShard& shard) const;

 private:
  Config config_;
  PinnedBrownian process_;
  Target target_;
  CounterRng rng_;
  std::unique_ptr<Drift> reference_;  // rtb: the frozen prior's drift
  FourierMlp network_;                // rtb: the correction; tb, mle: the drift
  std::unique_ptr<NetworkDrift> learned_;
  at::Tensor log_z_;
  std::unique_ptr<Objective> objective_;
};

// Loads a run's network (and log Z) from its checkpoint file into `job`'s parameters.
void load_parameters(Job& job, const std::filesystem::path& checkpoint);

}  // namespace tilt
