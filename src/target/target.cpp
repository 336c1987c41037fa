#include "target/target.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {
namespace {
constexpr double kLog2Pi = 1.8378770664093453;

at::Tensor to_tensor(const std::vector<std::vector<double>>& rows) {
  at::Tensor out = torch::empty(
      {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows.front().size())}, torch::kFloat64);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) out[i][j] = rows[i][j];
  return out;
}
}  // namespace

GaussianLikelihood::GaussianLikelihood(at::Tensor a, at::Tensor y, double noise_variance)
    : a_(a.to(torch::kFloat64)), y_(y.to(torch::kFloat64)), noise_variance_(noise_variance) {}

at::Tensor GaussianLikelihood::operator()(const at::Tensor& x) const {
  const int64_t m = y_.size(0);
  const at::Tensor residual = y_ - torch::matmul(x.to(torch::kFloat64), a_.t());
  return (-0.5 * (residual.square().sum(-1) / noise_variance_ + m * (kLog2Pi + std::log(noise_variance_))))
      .to(torch::kFloat32);
}

GroundTruth GaussianLikelihood::posterior(const GaussianMixture& prior) const {
  const int64_t k = prior.components(), m = y_.size(0);
  const at::Tensor prior_precision = torch::linalg::inv(prior.covariances());  // [K, D, D]
  const at::Tensor precision = prior_precision + (torch::matmul(a_.t(), a_) / noise_variance_).unsqueeze(0);
  const at::Tensor covariance = torch::linalg::inv(precision);
  const at::Tensor information = torch::matmul(prior_precision, prior.means().unsqueeze(-1)).squeeze(-1) +
                                 (torch::matmul(a_.t(), y_) / noise_variance_).unsqueeze(0);  // [K, D]
  const at::Tensor means = torch::matmul(covariance, information.unsqueeze(-1)).squeeze(-1);
  // Evidence of component k: y ~ N(A mu_k, A Sigma_k A^T + s^2 I).
  const at::Tensor evidence_cov = torch::matmul(torch::matmul(a_, prior.covariances()), a_.t()) +
                                  noise_variance_ * torch::eye(m, torch::kFloat64);
  const at::Tensor centred =
      (y_.unsqueeze(0) - torch::matmul(prior.means(), a_.t())).unsqueeze(-1);  // [K, m, 1]
  const at::Tensor quadratic =
      torch::matmul(centred.transpose(1, 2), torch::linalg::solve(evidence_cov, centred, /*left=*/true));
  const at::Tensor log_evidence =
      -0.5 * (quadratic.view({k}) + std::get<1>(torch::linalg::slogdet(evidence_cov)) + m * kLog2Pi);
  const at::Tensor log_joint = prior.log_weights() + log_evidence;
  const at::Tensor log_z = torch::logsumexp(log_joint, 0);
  return {GaussianMixture(means, log_joint - log_z, covariance), log_z.item<double>()};
}

MixtureRatio::MixtureRatio(GaussianMixture numerator, GaussianMixture prior)
    : numerator_(std::move(numerator)), prior_(std::move(prior)) {}

at::Tensor MixtureRatio::operator()(const at::Tensor& x) const {
  return (numerator_.log_prob(x) - prior_.log_prob(x)).to(torch::kFloat32);
}

at::Tensor MixtureDensity::operator()(const at::Tensor& x) const {
  return mixture_.log_prob(x).to(torch::kFloat32);
}

Target make_target(const Config& config) {
  if (config.objective != ObjectiveKind::kRtb) {
    GaussianMixture mixture = GaussianMixture::isotropic(config.target);
    return {std::make_shared<MixtureDensity>(mixture), {mixture, 0.0}};
  }
  const GaussianMixture prior = GaussianMixture::isotropic(config.prior.mixture);
  const double beta = config.train.beta;
  if (config.reward.kind == RewardConfig::Kind::kGaussianLikelihood) {
    const at::Tensor a = to_tensor(config.reward.a), y = torch::tensor(config.reward.y, torch::kFloat64);
    const double s2 = config.reward.noise_variance;
    auto likelihood = std::make_shared<GaussianLikelihood>(a, y, s2);
    // r^beta is a likelihood with variance s^2 / beta times a constant, so its posterior is exact too.
    GroundTruth truth = GaussianLikelihood(a, y, s2 / beta).posterior(prior);
    const double m = static_cast<double>(config.reward.y.size());
    truth.log_z += 0.5 * m * (std::log(2 * M_PI * s2 / beta) - beta * std::log(2 * M_PI * s2));
    return {likelihood, truth};
  }
  auto ratio = std::make_shared<MixtureRatio>(GaussianMixture::isotropic(config.reward.numerator), prior);
  return {ratio, ratio->posterior()};
}

}  // namespace tilt
