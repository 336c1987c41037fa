// The multivariate diffusion's evidence lower bound (research/tn_mdm_guidance.md §B.1, B.4), by
// denoising score matching with hybrid conditioning, per example, in nats:
//   ELBO(x) = log pi(y_1) + l(t) / w(t) + H(q(v_0)),
// y_1 ~ q(y_1 | x) and the prior pi = N(0, I) on all K d values; t ~ w on [t_min, 1], the
// importance density w(t) = r(t) / Z with r = beta / (1 - e^-B) (the VP likelihood weighting, for
// every process), drawn by its closed-form inverse CDF (B(t) = log1p(exp(G)) for the CDF's
// log(e^B - 1)); and the integrand at y_t = m_t + L_t eps with eps_theta predicting eps
// (s_theta = -L_t^-T eps_theta):
//   l(t) = -1/2 |eps_theta - eps|^2_P + d/2 tr P + d tr A(t),   P = L_t^-1 g g^T L_t^-T,
// the expectation of 1/2 |grad log q_t|0|^2_{g g^T} taken in closed form. H(q(v_0)) =
// d (K - 1) / 2 log(2 pi e aux_variance) is the -log q(v_0 | x) term's expectation, exact.
// Without the [0, t_min] offset term this bounds E_{u ~ q(u | x)} log p_{t_min}(u) + H(q(v_0)) (the
// model's density at t_min, not of x); the offset term (the reference's evaluation) completes it to
// a bound on log p(x):
//   offset(x) = log p(y_0 | u) - log q(u | y_0),  y_0 = [x; v_0], v_0 ~ N(0, aux_variance),
//   u = M y_0 + Lbar z ~ q(u | y_0) (M, Lbar: the transition over [0, t_min] from the point y_0),
//   p(y_0 | u) = N(M^-1 (u + Lbar Lbar^T s_theta(u, t_min)), M^-1 Lbar Lbar^T M^-T),
// which reduces to 1/2 |z|^2 - 1/2 |z + Lbar^T s_theta|^2 + d log det M: no inverse of the tiny
// covariance is formed.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "mdm/linear_process.h"

namespace tilt::mdm {

// eps_theta(y [B, K d] float32, t [B] float32) -> [B, K d].
using NoisePredictor = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

struct ImportanceTime {
  at::Tensor t;        // float64 [B] in [t_min, 1]
  at::Tensor density;  // w(t), normalised on [t_min, 1]
};
// Times from uniforms u [B] by the inverse CDF of w.
ImportanceTime importance_time(const BetaSchedule& schedule, double t_min, const at::Tensor& uniform);

// The noise an ELBO estimate draws: uniforms [B] for the time, standard normals [B, K, d] for y_t and
// for y_1.
struct ElboNoise {
  at::Tensor uniform, state, terminal;
};

// l(t) per example [B] at times t float64 [B] with y_t's standard normals `state` [B, K, d].
at::Tensor dsm_integrand(const LinearProcess& process, const NoisePredictor& predictor, const at::Tensor& x,
                         const at::Tensor& t, const at::Tensor& state);

// ELBO(x) without the offset term, [B] float64 (differentiable in the predictor's and the
// process's parameters); x [B, d].
at::Tensor elbo(const LinearProcess& process, const NoisePredictor& predictor, const at::Tensor& x,
                const ElboNoise& noise, double t_min);

// The offset term [B] float64 from standard normals aux [B, K - 1, d] (v_0) and state [B, K, d] (z).
at::Tensor offset_term(const LinearProcess& process, const NoisePredictor& predictor, const at::Tensor& x,
                       const at::Tensor& aux, const at::Tensor& state, double t_min);

}  // namespace tilt::mdm
