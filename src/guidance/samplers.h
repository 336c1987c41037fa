// Samplers of the Ornstein-Uhlenbeck diffusion (guidance/exact_mixture.h) run backward in time from
// t_max (where p_t is N(0, I) up to e^{-t_max}) to t_min > 0, with any score s(x, t) — exact,
// guided or learned:
//   probability-flow ODE   dx/dt = -x - s(x, t)                 (classical RK4, deterministic)
//   reverse SDE            x_{t-h} = x + h (x + 2 s(x, t)) + sqrt(2 h) eps   (Euler-Maruyama)
// on a time grid uniform in log t: the scores of compactly supported data sharpen as t -> 0, so the
// steps shrink there. `observe(k, t, x)` sees the state after every step (k = 0: the start).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace tilt::guidance {

using ScoreFunction = std::function<at::Tensor(const at::Tensor& x, double t)>;
using Observer = std::function<void(int step, double t, const at::Tensor& x)>;

struct TimeGrid {
  double t_max = 10.0, t_min = 1e-3;
  int steps = 500;
  std::vector<double> times() const;  // steps + 1 times from t_max down to t_min, log-uniform
};

at::Tensor probability_flow(at::Tensor x, const ScoreFunction& score, const TimeGrid& grid,
                            const Observer& observe = {});
// noise(k): standard normals like x for step k (a counter RNG's rows, or a generator in tests).
at::Tensor reverse_sde(at::Tensor x, const ScoreFunction& score, const TimeGrid& grid,
                       const std::function<at::Tensor(int step)>& noise, const Observer& observe = {});

}  // namespace tilt::guidance
