// Classifier guidance, the RTB paper's baseline for posterior tasks (research/rtb.md §3): instead of a
// learned correction, the prior's drift plus
//   u(x, t_i) = scale sigma2 (i / (i + 1)) grad log R(x),   i = t_i / dt  (0 at the start state),
// with R = r^beta the tempered reward. Nothing to train: a run of it trains only the objective's log Z
// and evaluates what guidance alone samples.
#pragma once

#include <functional>

#include "model/drift.h"

namespace tilt {

class GuidanceDrift final : public Drift {
 public:
  using Score = std::function<at::Tensor(const at::Tensor&)>;  // grad log R: [N, D] -> [N, D]
  GuidanceDrift(Score score, double scale, double sigma2, double dt)
      : score_(std::move(score)), scale_(scale), sigma2_(sigma2), dt_(dt) {}
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const override;

 private:
  Score score_;
  double scale_, sigma2_, dt_;
};

}  // namespace tilt
