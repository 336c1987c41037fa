// A probability matrix product state (research/tn_mdm_guidance.md §A.2): over N sites with q states
// a site,
//   P(x) = A_1^{x_1} A_2^{x_2} ... A_N^{x_N} / Z,   A_i^a [chi_{i-1}, chi_i] >= 0,  chi_0 = chi_N = 1,
// every tensor A_i float64 [chi_{i-1}, q, chi_i] with non-negative entries (the caller's duty: a
// learned MPS exponentiates its parameters, an exact one is built so). Contractions run left to
// right or right to left rescaled at every site (the scales' logs summed), so that N in the
// thousands neither underflows nor overflows.
//   log_norm        log Z, O(N q chi^2)
//   log_weight      log of the unnormalised P(x) for a batch of configurations, O(N q chi^2) each
//                   (every state's matrix in one GEMM a site, the chosen slices gathered)
//   sample          exact autoregressive samples, O(N q chi^2) each, optionally conditioned on
//                   per-site weights w_i(a) (a noised observation's kernel: exact denoising)
//   bond_marginals  P(bond i's index = h) where the bond index means something (a height)
// Everything stays differentiable (log_norm, log_weight): a learned MPS trains by autograd.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "core/rng.h"

namespace tilt::tn {

class Mps {
 public:
  explicit Mps(std::vector<at::Tensor> tensors);

  int sites() const { return static_cast<int>(tensors_.size()); }
  int64_t states() const { return tensors_.front().size(1); }
  const std::vector<at::Tensor>& tensors() const { return tensors_; }
  int64_t max_bond() const;

  at::Tensor log_norm() const;  // scalar float64
  // x int64 [B, N] in 0..q-1 -> float64 [B] (-inf where P(x) = 0).
  at::Tensor log_weight(const at::Tensor& x) const;
  at::Tensor log_prob(const at::Tensor& x) const { return log_weight(x) - log_norm(); }
  // Every site's tensor mapped by a q x q column-stochastic kernel, A'_i^y = sum_x K(y | x) A_i^x:
  // the MPS of the distribution after independent jumps by K at every site (same bond dimensions).
  Mps map_sites(const at::Tensor& kernel) const;
  // `count` exact samples int64 [count, N] for global rows [row_begin, row_begin + count) of `draw`
  // (the counter RNG, stream kTensorNetwork). site_weights float64 [count, N, q] (optional):
  // sample each row from P(x) prod_i site_weights[row, i, x_i] / normaliser instead of P(x).
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t count,
                    const at::Tensor& site_weights = {}) const;
  // P(index of bond i = h) for the bonds 1..N-1 between sites: float64 [N - 1, max_bond], zero
  // beyond a bond's dimension.
  at::Tensor bond_marginals() const;

 private:
  std::vector<at::Tensor> tensors_;
};

}  // namespace tilt::tn
