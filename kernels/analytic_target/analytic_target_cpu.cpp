#include "analytic_target/analytic_target.h"

namespace tilt::kernels {

void analytic_log_reward_cpu(const AnalyticTarget& target, const float* x, int64_t rows, float* out) {
  for (int64_t r = 0; r < rows; ++r) out[r] = analytic_log_reward(target, x + r * target.dim);
}

void analytic_score_cpu(const AnalyticTarget& target, const float* x, int64_t rows, float* out) {
  for (int64_t r = 0; r < rows; ++r) analytic_score(target, x + r * target.dim, out + r * target.dim);
}

}  // namespace tilt::kernels
