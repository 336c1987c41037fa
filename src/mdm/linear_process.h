// The multivariate diffusion of research/tn_mdm_guidance.md (b): every data coordinate carries K - 1
// auxiliary variables, and the K-vector of each coordinate follows one linear SDE
//   dy = A(t) y dt + g(t) dB,   A(t) = -beta(t) (Q + D) Sigma_inf^-1,   g g^T = 2 beta(t) D,
// with Q skew-symmetric, D positive semidefinite and Sigma_inf = I (the "complete recipe": N(0, I) is
// stationary for any such Q, D). The K x K matrices act on each coordinate's vector alike.
// Processes (`kind`): vpsde (K = 1: Q = 0, D = 1/2), cld (K = 2, critical damping), alda and malda
// (K = 3), learned (any K: Q = q - q^T, D = diag(softplus(d) + 1e-3) or, full, b b^T + 1e-3 I;
// positive semidefinite by construction, trained by the ELBO with the score network).
// Transitions are exact: with B(t) = int_0^t beta, one 2K x 2K matrix exponential per time gives
//   mean  m_t = exp(B A~) y_0,   covariance  Sigma_t = E11 Sigma_0 E11^T + E12 E11^T,
// E = exp(B [[A~, 2D], [0, -A~^T]]), A~ = -(Q + D), computed in float64 (research §B.2). Hybrid
// score matching: the auxiliary variables start at N(0, aux_variance) independent of x, so
// Sigma_0 = diag(0, aux_variance, ...) and the mean carries x alone.
// States are [B, K, d] (variable-major: x, then v_1, ..., each a d-row); flat rows [B, K d] for the
// networks are the same memory ([x | v_1 | ...]).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "model/parameters.h"

namespace tilt::mdm {

// beta(t) = beta0 + t (beta1 - beta0) on t in [0, 1]; B(t) its integral.
struct BetaSchedule {
  double beta0 = 0.1, beta1 = 10.0;
  at::Tensor beta(const at::Tensor& t) const;
  at::Tensor integral(const at::Tensor& t) const;
};

struct ProcessConfig {
  std::string kind = "cld";       // vpsde | cld | alda | malda | learned
  int variables = 2;              // K (learned; the fixed kinds have their own)
  bool full_dissipation = false;  // learned: D = b b^T + 1e-3 I (true) or a positive diagonal
  double aux_variance = 0.01;     // the auxiliary variables' starting variance (hybrid score matching)
  BetaSchedule schedule;
};

// One time's exact transition, batched over times: [N, K, K] each, float64.
struct Transition {
  at::Tensor mean;        // exp(B(t) A~): m_t = mean y_0
  at::Tensor covariance;  // Sigma_t from Sigma_0 = diag(0, aux_variance, ...)
  at::Tensor cholesky;    // lower L_t, L_t L_t^T = Sigma_t
};

class LinearProcess {
 public:
  explicit LinearProcess(const ProcessConfig& config, uint64_t seed = 0);

  int variables() const { return variables_; }
  const ProcessConfig& config() const { return config_; }
  at::Tensor skew() const;                                 // Q [K, K] float64
  at::Tensor dissipation() const;                          // D [K, K] float64
  at::Tensor drift_matrix(const at::Tensor& t) const;      // A(t) [N, K, K]
  at::Tensor diffusion_square(const at::Tensor& t) const;  // g g^T(t) = 2 beta(t) D [N, K, K]
  // Sigma_0 [K, K]: zero for x, aux_variance for the auxiliary variables.
  at::Tensor initial_covariance() const;
  // t float64 [N]; from_point: Sigma_0 = 0 (y_0 known whole, auxiliary variables included).
  Transition transition(const at::Tensor& t, bool from_point = false) const;
  // Trainable tensors (learned kinds; empty otherwise) under "process/...".
  std::vector<NamedTensor> parameters() const;

 private:
  ProcessConfig config_;
  int variables_;
  at::Tensor fixed_skew_, fixed_dissipation_;    // fixed kinds
  at::Tensor skew_factor_, dissipation_factor_;  // learned: q [K, K]; d [K] or b [K, K]
};

}  // namespace tilt::mdm
