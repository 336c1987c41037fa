// Gaussian mixtures sum_k w_k N(mu_k, Sigma_k): priors, targets and the exact posteriors used as
// ground truth. Computations are float64 (ground truth must not be the error source); inputs and
// outputs may be float32.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/config.h"
#include "core/rng.h"
#include "mixture_drift/mixture_drift.h"
#include "model/drift.h"

namespace tilt {

class GaussianMixture {
 public:
  // means [K, D], log_weights [K] (normalised), covariances [K, D, D].
  GaussianMixture(at::Tensor means, at::Tensor log_weights, at::Tensor covariances);
  static GaussianMixture isotropic(const MixtureConfig& config);

  int64_t components() const { return means_.size(0); }
  int64_t dim() const { return means_.size(1); }
  const at::Tensor& means() const { return means_; }
  const at::Tensor& log_weights() const { return log_weights_; }
  const at::Tensor& covariances() const { return covariances_; }
  // Per-component variances s_k^2 when every Sigma_k = s_k^2 I; throws otherwise.
  at::Tensor isotropic_variances() const;

  at::Tensor log_prob(const at::Tensor& x) const;             // [N, D] -> [N] float64
  at::Tensor component_log_joint(const at::Tensor& x) const;  // log w_k + log N(x; mu_k, Sigma_k): [N, K]
  at::Tensor mahalanobis2(const at::Tensor& x) const;         // (x - mu_k)^T Sigma_k^-1 (x - mu_k): [N, K]
  // Rows [row_begin, row_begin + rows) of an exact sample stream: float32 [rows, D].
  at::Tensor sample(const CounterRng& rng, uint32_t iteration, int64_t row_begin, int64_t rows) const;

 private:
  at::Tensor means_, log_weights_, covariances_, cholesky_, log_det_;
};

// The exact Föllmer drift of the pinned Brownian motion whose marginal at t = 1 is an isotropic
// mixture (research/rtb.md §5.3): per component (sigma2 mu_k + (s_k^2 - sigma2) x) /
// (t s_k^2 + sigma2 (1 - t)), finite at t = 1 (the (E[x_1|x] - x)/(1 - t) form is 0/0 there), weighted
// by the responsibilities under the noised marginal N(t mu_k, (t^2 s_k^2 + sigma2 t (1 - t)) I).
class MixtureFollmerDrift final : public Drift {
 public:
  // `fused`: evaluated by the one-pass kernel (kernels/mixture_drift) where the dimension allows.
  MixtureFollmerDrift(const GaussianMixture& mixture, double sigma2, bool fused = false);
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const override;
  const kernels::MixtureView* fused_mixture() const override { return fused_ ? &view_ : nullptr; }
  // log p_t(x) of the noised marginal, [K, B]. The drift is the h-transform of the zero-drift
  // reference (marginal N(0, sigma2 t I)): u = sigma2 grad log p_t + x / t.
  at::Tensor log_marginal(const at::Tensor& x, const at::Tensor& t) const;

 private:
  at::Tensor component_logits(const at::Tensor& x, const at::Tensor& t) const;  // [K, B, C]
  at::Tensor means_, log_weights_, variances_;                                  // float32 [C, D], [C], [C]
  double sigma2_;
  bool fused_;
  kernels::MixtureView view_;  // of the tensors above
};

}  // namespace tilt
