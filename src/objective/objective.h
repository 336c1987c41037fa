// The objective seam: (trajectories, learned parameters) -> gradients and loss statistics.
//
// Every objective here scores a path by its log-density ratio to a reference path measure,
//   path(tau) = sum_i step_term_i,
// rtb: step_term = log p_post - log p_prior (the prior chain is the reference),
// tb/mle: step_term = log p_F - log p_B (the Brownian bridge is the reference),
// and uses it as
//   squared residual (tb, rtb): loss_b = 1/2 (log Z + path_b - log R~_b)^2,
//   likelihood (mle):           loss_b = -path_b  (the negative trajectory ELBO of the data point).
// The loss is normalised by the *global* batch size, so summing gradients over ranks gives exactly
// the full-batch gradient.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "process/pinned_brownian.h"
#include "train/trajectory.h"

namespace tilt {

// Sums over this rank's trajectories; the trainer all-reduces them.
struct LossStats {
  double loss_sum = 0;
  double residual_sum = 0;
  double residual_square_sum = 0;
  double count = 0;
};

class Objective {
 public:
  virtual ~Objective() = default;
  // Adds d loss / d parameters to their .grad for this rank's part of a global batch.
  virtual LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch) = 0;
  // log R(x_1) - path(tau): the log importance weight of each trajectory against the truth, whose
  // mean is the ELBO of log Z and whose log-mean-exp is the importance-weighted estimate. [B], no grad.
  at::Tensor log_weight(const Trajectory& batch);

 protected:
  Objective(const PinnedBrownian& process, int chunk_steps);
  // step_term for steps [first, first + count): [count, B], differentiable in the parameters.
  virtual at::Tensor step_terms(const Trajectory& batch, int first, int count) = 0;
  // path(tau) without autograd, in chunks: [B].
  at::Tensor path_without_grad(const Trajectory& batch);
  // 1/2 (log_z + path + offset)^2 / global_batch, backpropagated in chunks of steps when chunking is
  // on: a no-grad pass gives the residual delta, then each chunk backpropagates delta * its terms,
  // which has the same gradient with memory bounded by one chunk.
  LossStats backward_squared_residual(const Trajectory& batch, at::Tensor& log_z, const at::Tensor& offset,
                                      int64_t global_batch);

  const PinnedBrownian& process_;
  int chunk_steps_;
};

}  // namespace tilt
