#include "model/gaussian_mixture.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt {
namespace {
constexpr double kLog2Pi = 1.8378770664093453;
}

GaussianMixture::GaussianMixture(at::Tensor means, at::Tensor log_weights, at::Tensor covariances)
    : means_(means.to(torch::kFloat64)),
      log_weights_(log_weights.to(torch::kFloat64)),
      covariances_(covariances.to(torch::kFloat64)) {
  const int64_t k = means_.size(0), d = means_.size(1);
  if (log_weights_.sizes() != at::IntArrayRef{k} || covariances_.sizes() != at::IntArrayRef{k, d, d})
    throw Error("GaussianMixture: inconsistent shapes");
  cholesky_ = torch::linalg::cholesky(covariances_);
  log_det_ = 2 * cholesky_.diagonal(0, -2, -1).log().sum(-1);
}

GaussianMixture GaussianMixture::isotropic(const MixtureConfig& config) {
  const int64_t k = static_cast<int64_t>(config.means.size()), d = config.dim();
  at::Tensor means = torch::empty({k, d}, torch::kFloat64);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < d; ++j) means[i][j] = config.means[i][j];
  const at::Tensor weights = torch::tensor(config.weights, torch::kFloat64);
  const at::Tensor variances = torch::tensor(config.variances, torch::kFloat64);
  const at::Tensor covariances = variances.view({k, 1, 1}) * torch::eye(d, torch::kFloat64).expand({k, d, d});
  return GaussianMixture(means, (weights / weights.sum()).log(), covariances);
}

at::Tensor GaussianMixture::isotropic_variances() const {
  const at::Tensor variances = covariances_.diagonal(0, -2, -1).select(1, 0);
  const at::Tensor expected = variances.view({-1, 1, 1}) * torch::eye(dim(), torch::kFloat64);
  if (!torch::allclose(covariances_, expected)) throw Error("mixture components must be isotropic here");
  return variances;
}

at::Tensor GaussianMixture::mahalanobis2(const at::Tensor& x) const {
  const at::Tensor diff = x.to(torch::kFloat64).unsqueeze(0) - means_.unsqueeze(1);  // [K, N, D]
  // Solve L z = diff^T per component: z = L^-1 (x - mu), |z|^2 is the Mahalanobis distance.
  const at::Tensor z = torch::linalg_solve_triangular(cholesky_, diff.transpose(1, 2), /*upper=*/false);
  return z.square().sum(1).transpose(0, 1);  // [N, K]
}

at::Tensor GaussianMixture::component_log_joint(const at::Tensor& x) const {
  return log_weights_.unsqueeze(0) - 0.5 * (mahalanobis2(x) + log_det_.unsqueeze(0) + dim() * kLog2Pi);
}

at::Tensor GaussianMixture::log_prob(const at::Tensor& x) const {
  return torch::logsumexp(component_log_joint(x), 1);
}

at::Tensor GaussianMixture::sample(const CounterRng& rng, uint32_t iteration, int64_t row_begin,
                                   int64_t rows) const {
  const at::Tensor u =
      rng.uniform(RngStream::kMixtureComponent, iteration, 0, row_begin, rows, 1).to(torch::kFloat64);
  const at::Tensor cumulative = log_weights_.exp().cumsum(0);
  const at::Tensor component =
      torch::searchsorted(cumulative, u.squeeze(1) * cumulative[-1]).clamp_max(components() - 1);
  const at::Tensor z =
      rng.normal(RngStream::kMixtureNoise, iteration, 0, row_begin, rows, dim()).to(torch::kFloat64);
  const at::Tensor x = means_.index_select(0, component) +
                       torch::matmul(cholesky_.index_select(0, component), z.unsqueeze(-1)).squeeze(-1);
  return x.to(torch::kFloat32);
}

MixtureFollmerDrift::MixtureFollmerDrift(const GaussianMixture& mixture, double sigma2, bool fused)
    : means_(mixture.means().to(torch::kFloat32).contiguous()),
      log_weights_(mixture.log_weights().to(torch::kFloat32).contiguous()),
      variances_(mixture.isotropic_variances().to(torch::kFloat32).contiguous()),
      sigma2_(sigma2),
      fused_(fused && mixture.dim() <= kernels::kMaxFusedDim),
      view_{static_cast<int>(mixture.components()),
            static_cast<int>(mixture.dim()),
            means_.data_ptr<float>(),
            log_weights_.data_ptr<float>(),
            variances_.data_ptr<float>(),
            static_cast<float>(sigma2)} {}

at::Tensor MixtureFollmerDrift::component_logits(const at::Tensor& x, const at::Tensor& t) const {
  const int64_t steps = t.size(0), dim = x.size(-1);
  const at::Tensor tt = t.view({steps, 1, 1});
  const at::Tensor variance = tt.square() * variances_ + sigma2_ * tt * (1 - tt);  // [K, 1, C]
  // At t = 0 every component's marginal is the point mass at 0: responsibilities are the weights.
  const at::Tensor at_origin = (tt == 0);
  const at::Tensor safe_variance = torch::where(at_origin, torch::ones_like(variance), variance);
  const at::Tensor centred = x.unsqueeze(2) - tt.unsqueeze(-1) * means_;  // [K, B, C, D]
  const at::Tensor log_normal = -0.5 * (centred.square().sum(-1) / safe_variance + dim * safe_variance.log());
  return log_weights_ + torch::where(at_origin, torch::zeros_like(log_normal), log_normal);
}

at::Tensor MixtureFollmerDrift::operator()(const at::Tensor& x, const at::Tensor& t) const {
  const int64_t steps = t.size(0);
  if (fused_ && !x.requires_grad()) {
    const at::Tensor xc = x.to(torch::kFloat32).contiguous(), tc = t.to(torch::kFloat32).contiguous();
    at::Tensor u = torch::empty_like(xc);
    const int64_t rows = x.size(1);
    for (int64_t k = 0; k < steps; ++k)
      kernels::mixture_follmer_drift_cpu(view_, xc.data_ptr<float>() + k * rows * view_.dim, rows,
                                         tc.data_ptr<float>()[k], u.data_ptr<float>() + k * rows * view_.dim);
    return u;
  }
  const at::Tensor responsibilities = torch::softmax(component_logits(x, t), -1);  // [K, B, C]
  const at::Tensor tt = t.view({steps, 1, 1});
  const at::Tensor denominator = tt * variances_ + sigma2_ * (1 - tt);  // [K, 1, C]
  // sum_k r_k (sigma2 mu_k + (s_k^2 - sigma2) x) / den_k, split into a mean part and an x part.
  const at::Tensor weight = responsibilities / denominator;                          // [K, B, C]
  const at::Tensor mean_part = torch::matmul(weight, means_) * sigma2_;              // [K, B, D]
  const at::Tensor x_coefficient = (weight * (variances_ - sigma2_)).sum(-1, true);  // [K, B, 1]
  return mean_part + x_coefficient * x;
}

at::Tensor MixtureFollmerDrift::log_marginal(const at::Tensor& x, const at::Tensor& t) const {
  const int64_t dim = x.size(-1);
  return torch::logsumexp(component_logits(x, t), -1) - 0.5 * dim * kLog2Pi;
}

}  // namespace tilt
