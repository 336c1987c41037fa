// The target seam: log R(x) at the terminal state, its gradient, and whatever ground truth exists, so
// that evaluation is generic. A sampler task's target is an unnormalised density (log Z exact where
// known); a posterior task's target is the tempered reward r^beta of a prior p, whose truth is the
// posterior p r^beta / Z; a data task trains on exact samples of its target.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <utility>

#include "core/config.h"
#include "core/rng.h"

namespace tilt {

// The exact distribution a perfect sampler produces.
class GroundTruth {
 public:
  virtual ~GroundTruth() = default;
  virtual int64_t dim() const = 0;
  // log of the target's normaliser: log integral R(x) dx (sampler tasks), log integral p r^beta (posterior).
  virtual double log_z() const = 0;
  // Rows [row_begin, row_begin + rows) of exact sample stream `draw`: float32 [rows, D].
  virtual at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const = 0;
  // Normalised log-density, float64 [N].
  virtual at::Tensor log_density(const at::Tensor& x) const = 0;

  // Modes, where the distribution has them: mode_count() is 0 otherwise.
  virtual int64_t mode_count() const { return 0; }
  virtual at::Tensor mode_weights() const;  // float64 [K]
  // The most responsible mode of each point (int64 [N]) and whether the point lies outside every
  // mode's 99.9% region (bool [N]).
  virtual std::pair<at::Tensor, at::Tensor> assign_modes(const at::Tensor& x) const;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual int64_t dim() const = 0;
  // [B, D] -> float32 [B]. A black box to the objectives: no gradient is taken through it.
  virtual at::Tensor log_reward(const at::Tensor& x) const = 0;
  // grad_x log R: float32 [B, D]. Analytic where a target overrides it, else autograd through log_reward.
  virtual at::Tensor grad_log_reward(const at::Tensor& x) const;
  // The exact distribution, or null when none is known (a user's reward).
  virtual const GroundTruth* truth() const = 0;
  // The unnormalised density the sampler must learn - R for samplers, p R for posteriors - as
  // float64 [B], and its gradient, float32 [B, D]: what local search explores.
  virtual at::Tensor log_unnormalised_density(const at::Tensor& x) const;
  virtual at::Tensor grad_log_unnormalised_density(const at::Tensor& x) const { return grad_log_reward(x); }

 protected:
  // grad_x f(x) by autograd, f: [B, D] float64 -> [B].
  static at::Tensor autograd_gradient(const std::function<at::Tensor(const at::Tensor&)>& f,
                                      const at::Tensor& x);
};

// Builds the target of a config: a registered target kind (sampler and data tasks) or the
// posterior of the prior under the reward (posterior tasks).
std::unique_ptr<Target> make_target(const Config& config);

}  // namespace tilt
