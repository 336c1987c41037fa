#include "guidance/samplers.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt::guidance {

std::vector<double> TimeGrid::times() const {
  if (!(t_min > 0) || !(t_max > t_min) || !std::isfinite(t_max) || steps < 1)
    throw Error("guidance: the time grid needs 0 < t_min < t_max and at least one step");
  std::vector<double> out;
  for (int k = 0; k <= steps; ++k)
    out.push_back(std::exp(std::log(t_max) + (std::log(t_min) - std::log(t_max)) * k / steps));
  return out;
}

at::Tensor probability_flow(at::Tensor x, const ScoreFunction& score, const TimeGrid& grid,
                            const Observer& observe) {
  const std::vector<double> t = grid.times();
  const auto velocity = [&](const at::Tensor& y, double time) { return -y - score(y, time); };
  if (observe) observe(0, t[0], x);
  for (int k = 0; k < grid.steps; ++k) {
    // Backward in time: dt = -h.
    const double h = t[k] - t[k + 1], middle = t[k] - h / 2;
    const at::Tensor k1 = velocity(x, t[k]);
    const at::Tensor k2 = velocity(x - h / 2 * k1, middle);
    const at::Tensor k3 = velocity(x - h / 2 * k2, middle);
    const at::Tensor k4 = velocity(x - h * k3, t[k + 1]);
    x = x - h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    if (observe) observe(k + 1, t[k + 1], x);
  }
  return x;
}

at::Tensor reverse_sde(at::Tensor x, const ScoreFunction& score, const TimeGrid& grid,
                       const std::function<at::Tensor(int step)>& noise, const Observer& observe) {
  const std::vector<double> t = grid.times();
  if (observe) observe(0, t[0], x);
  for (int k = 0; k < grid.steps; ++k) {
    const double h = t[k] - t[k + 1];
    x = x + h * (x + 2 * score(x, t[k])) + std::sqrt(2 * h) * noise(k);
    if (observe) observe(k + 1, t[k + 1], x);
  }
  return x;
}

}  // namespace tilt::guidance
