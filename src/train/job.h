// A job assembled from a config: the process, target, frozen reference drift (posterior tasks), the
// trained drift, the objective and the trajectory source. The trainer, benchmark, sampler and
// evaluator drive it without knowing which of each it is.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "model/fourier_mlp.h"
#include "model/learned_backward.h"
#include "objective/objective.h"
#include "process/process.h"
#include "source/source.h"
#include "target/target.h"
#include "train/adam.h"

namespace tilt {

namespace io {
class H5File;
}

class Job {
 public:
  explicit Job(const Config& config);
  Job(Job&&) = delete;

  const Config& config() const { return config_; }
  const Process& process() const { return *process_; }
  const Target& target() const { return *target_; }
  const CounterRng& rng() const { return rng_; }
  const Drift& policy() const { return *policy_; }
  // Sampler tasks with network.learned_backward: the learned backward kernel; else null.
  const LearnedBackward* backward() const { return backward_.get(); }
  Objective& objective() { return *objective_; }
  const Objective& objective() const { return *objective_; }
  TrajectorySource& source() { return *source_; }
  const TrajectorySource& source() const { return *source_; }

  // The job's part of a checkpoint: parameters ("/parameters/<name>"), the source's state and the
  // noise state ("/rng/seed", "/rng/iteration" = step). load() checks the seed against this job's.
  void save(io::H5File& file, int step) const;
  void load(const io::H5File& file);

  // Trainable parameters by checkpoint name: the drift's ("network/...") then the objective's.
  std::vector<NamedTensor> parameters() const;
  Adam make_optimizer() const;

  // On-policy forward rollouts of the trained sampler (no exploration) with log R, for evaluation
  // and sampling; `draw` selects an independent set of paths.
  Trajectory sample(uint32_t draw, const BatchShard& shard) const;

 private:
  SourceContext source_context() const;

  Config config_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<Target> target_;
  CounterRng rng_;
  std::unique_ptr<Drift> reference_;  // posterior tasks: the frozen prior's drift
  std::unique_ptr<Drift> policy_;     // the trained drift (posterior tasks: the correction)
  std::unique_ptr<LearnedBackward> backward_;
  std::unique_ptr<Objective> objective_;
  std::unique_ptr<TrajectorySource> source_;
};

// Loads a run's trained parameters from its checkpoint file into `job`'s.
void load_parameters(Job& job, const std::filesystem::path& checkpoint);

// Seconds spent in each phase of a training step (the benchmark's breakdown).
struct StepPhases {
  double batch_s = 0, gradients_s = 0, update_s = 0;
};

// Global totals of one training step, equal on every rank.
struct StepTotals {
  double loss = 0;            // mean loss over the global batch
  std::vector<double> sums;   // the objective's statistics, summed over ranks
  double count = 0;           // trajectories in the global batch
  std::vector<double> flags;  // the caller's flags, summed over ranks
};

// One training iteration, the same for the trainer, the benchmark and the distributed tests: the
// source's batch, the objective's gradients, their all-reduce, one all-reduce of the loss sums with
// `flags` riding along, a finite-loss check and the optimiser step. With `phases`, ranks meet at a
// barrier between phases so that each phase's time is the slowest rank's.
StepTotals train_step(Job& job, Adam& adam, GradientSync& sync, Communicator& comm, uint32_t iteration,
                      const BatchShard& shard, const std::vector<double>& flags = {},
                      StepPhases* phases = nullptr);

}  // namespace tilt
