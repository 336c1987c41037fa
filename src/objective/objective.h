// The objective seam: (trajectories, the drift it trains, the communicator) -> gradients, loss and
// named statistics. An objective owns its own parameters (log Z, flow networks) and asks the
// communicator for any batch statistic it needs, so that N ranks equal one.
//
// Every objective scores a path by its log-density ratio to a reference path measure,
//   path(tau) = sum_i step_term_i,
//   posterior tasks (a frozen prior drift is the reference): log p_policy - log p_prior,
//   sampler and data tasks (the fixed backward process is the reference): log p_F - log p_B,
// so that log R(x_T) - path(tau) is the log importance weight of a trajectory against the target.
// Losses are normalised by the *global* batch size, so summing gradients over ranks gives exactly
// the full-batch gradient.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/config_section.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "model/drift.h"
#include "process/process.h"
#include "process/trajectory.h"
#include "target/target.h"

namespace tilt {

class LearnedBackward;

struct ObjectiveContext {
  const Process& process;
  const Target& target;
  const Drift& policy;     // the trained drift (posterior tasks: the correction added to the prior's)
  const Drift* reference;  // posterior tasks: the frozen prior's drift; null otherwise
  int chunk_steps;         // 0: score all steps in one autograd pass
  NetworkConfig network;   // the architecture of any network the objective owns (flows)
  const LearnedBackward* backward = nullptr;  // sampler tasks: a learned backward kernel, else the fixed one
};

// This rank's sums; the trainer all-reduces them.
struct LossStats {
  double loss_sum = 0;
  double count = 0;
  std::vector<double> sums;  // one per statistic_names()
};

// Loss clipping (research/rtb.md §1.3, RTB's `learning_cutoff`): each trajectory's loss is
// 1/2 relu(delta^2 - cutoff), so trajectories already within the cutoff of balance (an imperfect
// prior's tolerance) give no gradient. Key `loss_cutoff`, default 0 (the plain squared residual).
struct LossCutoff {
  double value = 0;
  void read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

// The default statistics: the loss sum and the sum and sum of squares of a per-trajectory residual [B].
LossStats residual_stats(double loss_sum, const at::Tensor& residual);

using Metrics = std::vector<std::pair<std::string, double>>;

class Objective {
 public:
  virtual ~Objective() = default;
  // Adds d loss / d parameters to their .grad for this rank's part of a global batch.
  virtual LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch,
                                         Communicator& comm) = 0;
  // The objective's own parameters (not the drift's), by checkpoint name, with their learning rates.
  virtual std::vector<ParameterGroup> parameter_groups() const { return {}; }
  // The objective's current estimate of log Z, if it has one.
  virtual std::optional<double> log_z() const { return std::nullopt; }
  // Names of the per-trajectory sums in LossStats::sums, and the metrics made from their global totals.
  virtual std::vector<std::string> statistic_names() const { return {"residual", "residual_square"}; }
  virtual std::vector<std::string> metric_names() const { return {"residual_mean", "residual_std"}; }
  virtual Metrics metrics(const std::vector<double>& global_sums, double count) const;
  // Figures about evaluation samples that only the objective can give (what its log-reward floor
  // changed), reduced over ranks: equal on every rank.
  virtual Metrics sample_metrics(const Trajectory& /*samples*/, const CounterRng& /*rng*/,
                                 Communicator& /*comm*/) const {
    return {};
  }

  // log R(x_T) - path(tau) without autograd: the log importance weight of each trajectory, whose
  // mean is the ELBO of log Z and whose log-mean-exp is the importance-weighted estimate. [B]
  at::Tensor log_weight(const Trajectory& batch) const;

 protected:
  explicit Objective(const ObjectiveContext& context);
  // step_term for steps [first, first + count): [count, B], differentiable in the drift's parameters.
  at::Tensor step_terms(const Trajectory& batch, int first, int count) const;
  // path(tau) without autograd, in chunks: [B].
  at::Tensor path_without_grad(const Trajectory& batch) const;
  // 1/2 (log_z + path + offset)^2 / global_batch summed over the batch, backpropagated in chunks of
  // steps when chunking is on: a no-grad pass gives the residual delta, then each chunk
  // backpropagates delta * its terms, which has the same gradient with memory bounded by one chunk.
  // `log_z` may be a constant (no grad); `path` is score_path(batch) if the caller already has it.
  // With a cutoff the loss is 1/2 relu(delta^2 - cutoff) (LossCutoff). Returns the loss and the
  // residuals' sum and sum of squares.
  LossStats backward_squared_residual(const Trajectory& batch, const at::Tensor& log_z,
                                      const at::Tensor& offset, int64_t global_batch, at::Tensor path = {},
                                      LossCutoff cutoff = {}) const;
  // path(tau) [B] as backward_squared_residual uses it: with autograd in one pass, or without it
  // when scoring in chunks.
  at::Tensor score_path(const Trajectory& batch) const;
  int chunk() const;

  const Process& process_;
  const Target& target_;
  const Drift& policy_;
  const Drift* reference_;
  const LearnedBackward* backward_;
  int chunk_steps_;
};

}  // namespace tilt
