#include "tn/mps.h"

#include <torch/torch.h>

#include <string>

#include "core/error.h"

namespace tilt::tn {
namespace {

// Rows rescaled to a largest entry of one; the scales' logs (-inf for an all-zero row, left zero).
// The scale is a constant to autograd: the gradient of log(value) flows through the rescaled row.
std::pair<at::Tensor, at::Tensor> rescaled(const at::Tensor& rows) {
  const at::Tensor scale = rows.detach().amax(1);
  const at::Tensor safe = torch::where(scale > 0, scale, torch::ones_like(scale));
  return {rows / safe.unsqueeze(1), torch::log(scale)};
}

// Uniforms in (0, 1] with 48 random bits from two float32 draws (24 bits each): a category of
// probability 1e-9 is drawn as often as it should be.
at::Tensor fine_uniforms(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t count,
                         int64_t columns) {
  const double scale = 16777216.0;  // 2^24
  const at::Tensor high =
      rng.uniform(RngStream::kTensorNetwork, draw, 0, row_begin, count, columns).to(torch::kFloat64);
  const at::Tensor low =
      rng.uniform(RngStream::kTensorNetwork, draw, 1, row_begin, count, columns).to(torch::kFloat64);
  return ((high * scale).round().clamp(1, scale) - 1 + low) / scale;
}

// rows [B, chi_left] times every matrix A^a of the site -> [B, q, chi_right]: one GEMM for the
// batch (q times the work of the chosen matrices alone, but a dense GEMM, not B gathered ones).
at::Tensor times_every_state(const at::Tensor& rows, const at::Tensor& tensor) {
  return rows.matmul(tensor.reshape({tensor.size(0), -1}))
      .view({rows.size(0), tensor.size(1), tensor.size(2)});
}

// The slice [B, chi_right] of row b's state states[b] from times_every_state's [B, q, chi_right].
at::Tensor chosen(const at::Tensor& per_state, const at::Tensor& states) {
  return per_state.gather(1, states.view({-1, 1, 1}).expand({per_state.size(0), 1, per_state.size(2)}))
      .squeeze(1);
}

}  // namespace

Mps::Mps(std::vector<at::Tensor> tensors) : tensors_(std::move(tensors)) {
  if (tensors_.empty()) throw Error("mps: no sites");
  int64_t left = 1;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const at::Tensor& t = tensors_[i];
    const std::string site = "mps: site " + std::to_string(i) + ": ";
    if (t.dim() != 3 || t.scalar_type() != torch::kFloat64)
      throw Error(site + "tensors must be float64 [chi_left, q, chi_right]");
    if (t.size(0) != left)
      throw Error(site + "left bond " + std::to_string(t.size(0)) + " != " + std::to_string(left));
    if (t.size(1) != tensors_.front().size(1)) throw Error(site + "a different number of states");
    left = t.size(2);
  }
  if (left != 1) throw Error("mps: the last right bond must be 1");
}

int64_t Mps::max_bond() const {
  int64_t largest = 1;
  for (const auto& t : tensors_) largest = std::max(largest, t.size(2));
  return largest;
}

at::Tensor Mps::log_norm() const {
  at::Tensor row = torch::ones({1, 1}, torch::kFloat64), log_scale = torch::zeros({1}, torch::kFloat64);
  for (const auto& t : tensors_) {
    auto [next, log] = rescaled(row.matmul(t.sum(1)));
    row = next;
    log_scale = log_scale + log;
  }
  return (log_scale + torch::log(row.squeeze(1)))[0];
}

at::Tensor Mps::log_weight(const at::Tensor& x) const {
  if (x.dim() != 2 || x.size(1) != sites())
    throw Error("mps: configurations must be [B, " + std::to_string(sites()) + "]");
  const int64_t batch = x.size(0);
  at::Tensor row = torch::ones({batch, 1}, torch::kFloat64),
             log_scale = torch::zeros({batch}, torch::kFloat64);
  for (int i = 0; i < sites(); ++i) {
    auto [next, log] = rescaled(chosen(times_every_state(row, tensors_[i]), x.select(1, i)));
    row = next;
    log_scale = log_scale + log;
  }
  return log_scale + torch::log(row.squeeze(1));
}

Mps Mps::map_sites(const at::Tensor& kernel) const {
  const at::Tensor k = kernel.to(torch::kFloat64);
  if (k.dim() != 2 || k.size(0) != states() || k.size(1) != states())
    throw Error("mps: a site kernel must be q x q with q = " + std::to_string(states()));
  std::vector<at::Tensor> mapped;
  for (const auto& t : tensors_) mapped.push_back(torch::einsum("yx,lxr->lyr", {k, t}));
  return Mps(std::move(mapped));
}

at::Tensor Mps::sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t count,
                       const at::Tensor& site_weights) const {
  torch::NoGradGuard no_grad;
  const int n = sites();
  const int64_t q = states();
  const bool conditioned = site_weights.defined();
  if (conditioned && (site_weights.dim() != 3 || site_weights.size(0) != count || site_weights.size(1) != n ||
                      site_weights.size(2) != q))
    throw Error("mps: site weights must be [count, N, q]");
  const int64_t rows = conditioned ? count : 1;  // unconditioned: one environment serves every row
  // right[i] [rows, chi_i]: the contraction of sites i+1..N (weighted), rescaled.
  std::vector<at::Tensor> right(n + 1);
  right[n] = torch::ones({rows, 1}, torch::kFloat64);
  for (int i = n - 1; i >= 0; --i) {
    const at::Tensor& t = tensors_[i];
    // [chi_l q, chi_r] x [chi_r, rows] -> [rows, chi_l, q]
    at::Tensor per_state = t.reshape({-1, t.size(2)}).matmul(right[i + 1].transpose(0, 1));
    per_state = per_state.view({t.size(0), q, rows}).permute({2, 0, 1});
    if (conditioned) per_state = per_state * site_weights.select(1, i).unsqueeze(1);
    right[i] = rescaled(per_state.sum(2)).first;
  }
  const at::Tensor uniforms = fine_uniforms(rng, draw, row_begin, count, n);
  at::Tensor x = torch::empty({count, n}, torch::kInt64);
  at::Tensor left = torch::ones({count, 1}, torch::kFloat64);
  for (int i = 0; i < n; ++i) {
    const at::Tensor& t = tensors_[i];
    // scores[b, a] = left_b A^a right_b; the chosen state's left_b A^a is the next left.
    const at::Tensor left_times_a = times_every_state(left, t);
    at::Tensor scores =
        conditioned ? torch::bmm(left_times_a, right[i + 1].unsqueeze(2)).squeeze(2)
                    : left_times_a.view({-1, t.size(2)}).matmul(right[i + 1].squeeze(0)).view({count, q});
    if (conditioned) scores = scores * site_weights.select(1, i);
    const at::Tensor cumulative = scores.cumsum(1);
    const at::Tensor total = cumulative.select(1, q - 1);
    if (!(total > 0).logical_and(torch::isfinite(total)).all().item<bool>())
      throw Error("mps: site " + std::to_string(i) +
                  ": a row's conditional weights are zero or not finite (an impossible condition, or "
                  "tensors beyond a double)");
    const at::Tensor threshold = uniforms.select(1, i) * total;
    const at::Tensor state = (cumulative < threshold.unsqueeze(1)).sum(1).clamp_max(q - 1);
    x.select(1, i).copy_(state);
    left = rescaled(chosen(left_times_a, state)).first;
  }
  return x;
}

at::Tensor Mps::bond_marginals() const {
  torch::NoGradGuard no_grad;
  const int n = sites();
  std::vector<at::Tensor> right(n + 1);
  right[n] = torch::ones({1}, torch::kFloat64);
  for (int i = n - 1; i >= 1; --i) {
    const at::Tensor r = tensors_[i].sum(1).matmul(right[i + 1]);
    right[i] = r / r.max();
  }
  at::Tensor out = torch::zeros({n - 1, max_bond()}, torch::kFloat64);
  at::Tensor left = torch::ones({1}, torch::kFloat64);
  for (int i = 0; i < n - 1; ++i) {
    left = left.matmul(tensors_[i].sum(1));
    left = left / left.max();
    const at::Tensor joint = left * right[i + 1];
    out[i].narrow(0, 0, joint.size(0)).copy_(joint / joint.sum());
  }
  return out;
}

}  // namespace tilt::tn
