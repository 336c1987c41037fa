// The exact Föllmer drift of a pinned Brownian motion (rate sigma2) whose marginal at t = 1 is an
// isotropic Gaussian mixture sum_c w_c N(mu_c, s_c^2 I) (src/model/gaussian_mixture.h), per sample:
//   u(x, t) = sum_c r_c(x, t) (sigma2 mu_c + (s_c^2 - sigma2) x) / (t s_c^2 + sigma2 (1 - t)),
// with responsibilities r_c under the noised marginals N(t mu_c, (t^2 s_c^2 + sigma2 t (1 - t)) I),
// the weights themselves at t = 0. One pass over the components with an online log-sum-exp: no
// [B, C] temporaries, the rescaling of the running sums happens only when the maximum moves; what
// does not depend on x is computed once per time and component.
#pragma once

#include <cmath>
#include <cstdint>

#include "common.h"

namespace tilt::kernels {

inline constexpr int kMaxFusedDim = 32;  // Manywell 32

struct MixtureView {
  int components = 0, dim = 0;
  const float* means = nullptr;        // [C, D]
  const float* log_weights = nullptr;  // [C]
  const float* variances = nullptr;    // [C]
  float sigma2 = 0;
};

// What component c contributes at time t, independent of x: computed once per (time, component).
struct MixtureComponentAtTime {
  float log_norm;          // log w_c - D/2 log variance_c(t) (log w_c at t = 0)
  float half_precision;    // 1 / (2 variance_c(t)) (0 at t = 0: every responsibility is the weight)
  float mean_scale;        // t: the noised marginal is centred at t mu_c
  float mean_coefficient;  // sigma2 / (t s_c^2 + sigma2 (1 - t))
  float x_coefficient;     // (s_c^2 - sigma2) / (t s_c^2 + sigma2 (1 - t))
};

TILT_HOST_DEVICE inline MixtureComponentAtTime mixture_component_at(const MixtureView& m, int c, float t) {
  const float s2 = m.variances[c];
  const float denominator = t * s2 + m.sigma2 * (1 - t);
  MixtureComponentAtTime out{m.log_weights[c], 0.0f, t, m.sigma2 / denominator,
                             (s2 - m.sigma2) / denominator};
  if (t > 0) {
    const float variance = t * t * s2 + m.sigma2 * t * (1 - t);
    out.log_norm -= 0.5f * m.dim * logf(variance);
    out.half_precision = 0.5f / variance;
  }
  return out;
}

// u [D] at x [D] from component c's constants `at(c)` (a table, or computed in place).
template <typename ComponentAt>
TILT_HOST_DEVICE inline void mixture_follmer_drift_with(const MixtureView& m, ComponentAt at, const float* x,
                                                        float* u) {
  float sum_mean[kMaxFusedDim];
  for (int d = 0; d < m.dim; ++d) sum_mean[d] = 0;
  float running_max = -INFINITY, total = 0, x_coefficient = 0;
  for (int c = 0; c < m.components; ++c) {
    const MixtureComponentAtTime k = at(c);
    const float* mu = m.means + static_cast<int64_t>(c) * m.dim;
    float distance2 = 0;
    for (int d = 0; d < m.dim; ++d) {
      const float centred = x[d] - k.mean_scale * mu[d];
      distance2 += centred * centred;
    }
    const float logit = k.log_norm - k.half_precision * distance2;
    if (logit > running_max) {
      const float rescale = expf(running_max - logit);  // 0 on the first component
      total *= rescale;
      x_coefficient *= rescale;
      for (int d = 0; d < m.dim; ++d) sum_mean[d] *= rescale;
      running_max = logit;
    }
    const float weight = expf(logit - running_max);
    total += weight;
    x_coefficient += weight * k.x_coefficient;
    for (int d = 0; d < m.dim; ++d) sum_mean[d] += weight * k.mean_coefficient * mu[d];
  }
  for (int d = 0; d < m.dim; ++d) u[d] = (sum_mean[d] + x_coefficient * x[d]) / total;
}

// u [D] at x [D] and time t (dim <= kMaxFusedDim), the per-component constants computed in place.
TILT_HOST_DEVICE inline void mixture_follmer_drift(const MixtureView& m, const float* x, float t, float* u) {
  mixture_follmer_drift_with(
      m, [&](int c) { return mixture_component_at(m, c, t); }, x, u);
}

// log w_c + log N(x; mu_c, s_c^2 I) + D/2 log(2 pi): component c's logit at x [D].
TILT_HOST_DEVICE inline float mixture_component_logit(const MixtureView& m, int c, const float* x) {
  const float* mu = m.means + static_cast<int64_t>(c) * m.dim;
  float distance2 = 0;
  for (int d = 0; d < m.dim; ++d) distance2 += (x[d] - mu[d]) * (x[d] - mu[d]);
  return m.log_weights[c] - 0.5f * m.dim * logf(m.variances[c]) - 0.5f * distance2 / m.variances[c];
}

// log sum_c w_c N(x; mu_c, s_c^2 I) at x [D]: the mixture's normalised log-density (a target's log
// reward), by the same online log-sum-exp.
TILT_HOST_DEVICE inline float mixture_log_density(const MixtureView& m, const float* x) {
  float running_max = -INFINITY, total = 0;
  for (int c = 0; c < m.components; ++c) {
    const float logit = mixture_component_logit(m, c, x);
    if (logit > running_max) {
      total *= expf(running_max - logit);
      running_max = logit;
    }
    total += expf(logit - running_max);
  }
  return running_max + logf(total) - 0.5f * m.dim * kLog2PiF;
}

// u [rows, D] at x [rows, D], all at time t, on the CPU (the CUDA kernel's oracle).
void mixture_follmer_drift_cpu(const MixtureView& mixture, const float* x, int64_t rows, float t, float* u);

}  // namespace tilt::kernels
