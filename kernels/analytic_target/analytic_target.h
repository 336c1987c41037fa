// The analytic targets of the trajectory-balance samplers as per-sample host/device maths: log r(x)
// and its gradient (the score) for the isotropic Gaussian mixture (src/target/mixture.h: the
// normalised density), Neal's funnel (src/target/funnel.h: normalised) and Manywell
// (src/target/manywell.h: unnormalised, log Z is learned). The device engine's terminal reward and
// the Langevin parametrisation's score; the CPU row loops are the oracles of the CUDA ones.
#pragma once

#include <cmath>
#include <cstdint>

#include "common.h"
#include "mixture_drift/mixture_drift.h"

namespace tilt::kernels {

struct AnalyticTarget {
  enum class Kind { kMixture, kFunnel, kManywell };
  Kind kind = Kind::kMixture;
  int dim = 0;
  MixtureView mixture;        // kMixture
  float funnel_variance = 0;  // kFunnel: x_0 ~ N(0, variance), x_i | x_0 ~ N(0, e^{x_0})
};

// log N(x_0; 0, s2) + sum_{i>0} log N(x_i; 0, e^{x_0}).
TILT_HOST_DEVICE inline float funnel_log_density(int dim, float variance, const float* x) {
  float rest = 0;
  for (int i = 1; i < dim; ++i) rest += x[i] * x[i];
  return -0.5f * (x[0] * x[0] / variance + logf(variance) + kLog2PiF) -
         0.5f * (rest * expf(-x[0]) + (dim - 1) * (x[0] + kLog2PiF));
}

TILT_HOST_DEVICE inline void funnel_score(int dim, float variance, const float* x, float* score) {
  const float inverse_variance = expf(-x[0]);
  float rest = 0;
  for (int i = 1; i < dim; ++i) {
    rest += x[i] * x[i];
    score[i] = -x[i] * inverse_variance;
  }
  score[0] = -x[0] / variance - 0.5f * (dim - 1) + 0.5f * rest * inverse_variance;
}

// sum over the pairs (a, b) of -a^4 + 6 a^2 + a / 2 - b^2 / 2.
TILT_HOST_DEVICE inline float manywell_log_reward(int dim, const float* x) {
  float sum = 0;
  for (int i = 0; i + 1 < dim; i += 2) {
    const float a = x[i], b = x[i + 1], a2 = a * a;
    sum += -a2 * a2 + 6 * a2 + 0.5f * a - 0.5f * b * b;
  }
  return sum;
}

TILT_HOST_DEVICE inline void manywell_score(int dim, const float* x, float* score) {
  for (int i = 0; i + 1 < dim; i += 2) {
    const float a = x[i];
    score[i] = -4 * a * a * a + 12 * a + 0.5f;
    score[i + 1] = -x[i + 1];
  }
}

// sum_c r_c(x) (mu_c - x) / s_c^2, r_c the responsibilities (online log-sum-exp, as the density).
TILT_HOST_DEVICE inline void mixture_score(const MixtureView& m, const float* x, float* score) {
  float sum[kMaxFusedDim];
  for (int d = 0; d < m.dim; ++d) sum[d] = 0;
  float running_max = -INFINITY, total = 0;
  for (int c = 0; c < m.components; ++c) {
    const float* mu = m.means + static_cast<int64_t>(c) * m.dim;
    const float logit = mixture_component_logit(m, c, x);
    if (logit > running_max) {
      const float rescale = expf(running_max - logit);
      total *= rescale;
      for (int d = 0; d < m.dim; ++d) sum[d] *= rescale;
      running_max = logit;
    }
    const float weight = expf(logit - running_max);
    total += weight;
    for (int d = 0; d < m.dim; ++d) sum[d] += weight * (mu[d] - x[d]) / m.variances[c];
  }
  for (int d = 0; d < m.dim; ++d) score[d] = sum[d] / total;
}

TILT_HOST_DEVICE inline float analytic_log_reward(const AnalyticTarget& t, const float* x) {
  switch (t.kind) {
    case AnalyticTarget::Kind::kFunnel:
      return funnel_log_density(t.dim, t.funnel_variance, x);
    case AnalyticTarget::Kind::kManywell:
      return manywell_log_reward(t.dim, x);
    default:
      return mixture_log_density(t.mixture, x);
  }
}

TILT_HOST_DEVICE inline void analytic_score(const AnalyticTarget& t, const float* x, float* score) {
  switch (t.kind) {
    case AnalyticTarget::Kind::kFunnel:
      return funnel_score(t.dim, t.funnel_variance, x, score);
    case AnalyticTarget::Kind::kManywell:
      return manywell_score(t.dim, x, score);
    default:
      return mixture_score(t.mixture, x, score);
  }
}

inline AnalyticTarget mixture_target(const MixtureView& mixture) {
  return {AnalyticTarget::Kind::kMixture, mixture.dim, mixture, 0};
}
inline AnalyticTarget funnel_target(int dim, float variance) {
  return {AnalyticTarget::Kind::kFunnel, dim, {}, variance};
}
inline AnalyticTarget manywell_target(int dim) { return {AnalyticTarget::Kind::kManywell, dim, {}, 0}; }

// Row loops: log r [rows] and the score [rows, D] at x [rows, D], on the CPU and (all device
// pointers, the target's arrays too) on a CUDA device.
void analytic_log_reward_cpu(const AnalyticTarget& target, const float* x, int64_t rows, float* out);
void analytic_score_cpu(const AnalyticTarget& target, const float* x, int64_t rows, float* out);
int analytic_log_reward_cuda(const AnalyticTarget& target, const float* x, int64_t rows, float* out,
                             cudaStream_t stream);
int analytic_score_cuda(const AnalyticTarget& target, const float* x, int64_t rows, float* out,
                        cudaStream_t stream);

}  // namespace tilt::kernels
