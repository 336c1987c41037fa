#include "target/posterior.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

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

// log N(y; A x, s^2 I) evaluated from the residual, float64.
at::Tensor gaussian_log_likelihood(const at::Tensor& a, const at::Tensor& y, double s2, const at::Tensor& x) {
  const int64_t m = y.size(0);
  const at::Tensor residual = y - torch::matmul(x.to(torch::kFloat64), a.t());
  return -0.5 * (residual.square().sum(-1) / s2 + m * (kLog2Pi + std::log(s2)));
}

}  // namespace

GaussianLikelihood::GaussianLikelihood(at::Tensor a, at::Tensor y, double noise_variance)
    : a_(a.to(torch::kFloat64)), y_(y.to(torch::kFloat64)), noise_variance_(noise_variance) {}

at::Tensor GaussianLikelihood::log_reward(const at::Tensor& x) const {
  return gaussian_log_likelihood(a_, y_, noise_variance_, x);
}

std::optional<MixtureTruth> GaussianLikelihood::posterior(const GaussianMixture& prior, double beta) const {
  const double s2 = noise_variance_ / beta;
  const int64_t k = prior.components(), m = y_.size(0);
  const at::Tensor prior_precision = torch::linalg::inv(prior.covariances());  // [K, D, D]
  const at::Tensor precision = prior_precision + (torch::matmul(a_.t(), a_) / s2).unsqueeze(0);
  const at::Tensor covariance = torch::linalg::inv(precision);
  const at::Tensor information = torch::matmul(prior_precision, prior.means().unsqueeze(-1)).squeeze(-1) +
                                 (torch::matmul(a_.t(), y_) / s2).unsqueeze(0);  // [K, D]
  const at::Tensor means = torch::matmul(covariance, information.unsqueeze(-1)).squeeze(-1);
  // Evidence of component k: y ~ N(A mu_k, A Sigma_k A^T + s^2 I).
  const at::Tensor evidence_cov =
      torch::matmul(torch::matmul(a_, prior.covariances()), a_.t()) + s2 * torch::eye(m, torch::kFloat64);
  const at::Tensor centred =
      (y_.unsqueeze(0) - torch::matmul(prior.means(), a_.t())).unsqueeze(-1);  // [K, m, 1]
  const at::Tensor quadratic =
      torch::matmul(centred.transpose(1, 2), torch::linalg::solve(evidence_cov, centred, /*left=*/true));
  const at::Tensor log_evidence =
      -0.5 * (quadratic.view({k}) + std::get<1>(torch::linalg::slogdet(evidence_cov)) + m * kLog2Pi);
  const at::Tensor log_joint = prior.log_weights() + log_evidence;
  const at::Tensor log_z = torch::logsumexp(log_joint, 0);
  // r^beta = N(y; A x, s^2/beta I) * (2 pi s^2/beta)^(m/2) (2 pi s^2)^(-beta m/2).
  const double tempering = 0.5 * m * (std::log(2 * M_PI * s2) - beta * std::log(2 * M_PI * noise_variance_));
  return MixtureTruth(GaussianMixture(means, log_joint - log_z, covariance),
                      log_z.item<double>() + tempering);
}

MixtureRatio::MixtureRatio(GaussianMixture numerator, GaussianMixture prior)
    : numerator_(std::move(numerator)), prior_(std::move(prior)) {}

at::Tensor MixtureRatio::log_reward(const at::Tensor& x) const {
  return numerator_.log_prob(x) - prior_.log_prob(x);
}

std::optional<MixtureTruth> MixtureRatio::posterior(const GaussianMixture&, double beta) const {
  if (beta != 1.0) throw Error("a mixture_ratio reward has an exact posterior only for beta = 1");
  return MixtureTruth(numerator_, 0.0);
}

PosteriorTarget::PosteriorTarget(std::shared_ptr<const Reward> reward, const GaussianMixture& prior,
                                 double beta)
    : reward_(std::move(reward)), prior_(prior), beta_(beta), truth_(reward_->posterior(prior, beta)) {}

at::Tensor PosteriorTarget::log_unnormalised_density(const at::Tensor& x) const {
  return prior_.log_prob(x) + beta_ * reward_->log_reward(x);
}

at::Tensor PosteriorTarget::grad_log_unnormalised_density(const at::Tensor& x) const {
  return autograd_gradient([this](const at::Tensor& y) { return log_unnormalised_density(y); }, x);
}

at::Tensor PosteriorTarget::log_reward(const at::Tensor& x) const {
  return (beta_ * reward_->log_reward(x)).to(torch::kFloat32);
}

std::unique_ptr<Target> make_posterior_target(const Config& config) {
  const GaussianMixture prior = GaussianMixture::isotropic(config.prior.mixture);
  const RewardConfig& r = config.reward;
  std::shared_ptr<const Reward> reward;
  if (r.kind == RewardConfig::Kind::kGaussianLikelihood)
    reward = std::make_shared<GaussianLikelihood>(to_tensor(r.a), torch::tensor(r.y, torch::kFloat64),
                                                  r.noise_variance);
  else if (r.kind == RewardConfig::Kind::kMixtureRatio)
    reward = std::make_shared<MixtureRatio>(GaussianMixture::isotropic(r.numerator), prior);
  else
    reward = std::make_shared<TorchScriptReward>(r.file, prior.dim());
  return std::make_unique<PosteriorTarget>(reward, prior, r.beta);
}

}  // namespace tilt
