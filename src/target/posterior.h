// Posterior tasks (research/rtb.md §1.3): a prior p (a Gaussian mixture, exactly or as the marginal
// a trained neural prior learned) and a reward r; the target is R = r^beta and the truth is the
// posterior p r^beta / Z, exact because both rewards below keep the posterior a Gaussian mixture.
#pragma once

#include <optional>

#include "model/gaussian_mixture.h"
#include "target/mixture.h"
#include "target/target.h"
#include "target/torchscript.h"

namespace tilt {

// log r(x) as a black box: [B, D] -> float64 [B].
class Reward {
 public:
  virtual ~Reward() = default;
  virtual at::Tensor log_reward(const at::Tensor& x) const = 0;
  // The exact posterior of `prior` under r^beta, with its log Z, where one is known.
  virtual std::optional<MixtureTruth> posterior(const GaussianMixture& prior, double beta) const = 0;
};

// r(x) = N(y; A x, s^2 I) with any m x D matrix A. With a mixture prior the posterior is a mixture
// with precision Sigma_k^-1 + A^T A / s^2 per component and closed-form weights and log Z.
class GaussianLikelihood final : public Reward {
 public:
  GaussianLikelihood(at::Tensor a, at::Tensor y, double noise_variance);
  at::Tensor log_reward(const at::Tensor& x) const override;
  // r^beta = N(y; A x, s^2/beta I) times a constant, so the tempered posterior is exact too.
  std::optional<MixtureTruth> posterior(const GaussianMixture& prior, double beta) const override;

 private:
  at::Tensor a_, y_;  // float64 [m, D], [m]
  double noise_variance_;
};

// r(x) = numerator(x) / prior(x): the posterior of the prior mixture is the numerator (beta = 1 only).
class MixtureRatio final : public Reward {
 public:
  MixtureRatio(GaussianMixture numerator, GaussianMixture prior);
  at::Tensor log_reward(const at::Tensor& x) const override;
  std::optional<MixtureTruth> posterior(const GaussianMixture& prior, double beta) const override;

 private:
  GaussianMixture numerator_, prior_;
};

// r from a TorchScript file (target/torchscript.h): no exact posterior.
class TorchScriptReward final : public Reward {
 public:
  TorchScriptReward(const std::filesystem::path& file, int64_t dim) : log_r_(file, dim) {}
  at::Tensor log_reward(const at::Tensor& x) const override { return log_r_(x); }
  std::optional<MixtureTruth> posterior(const GaussianMixture&, double) const override {
    return std::nullopt;
  }

 private:
  TorchScriptFunction log_r_;
};

// R = r^beta.
class PosteriorTarget final : public Target {
 public:
  PosteriorTarget(std::shared_ptr<const Reward> reward, const GaussianMixture& prior, double beta);
  int64_t dim() const override { return prior_.dim(); }
  at::Tensor log_reward(const at::Tensor& x) const override;
  const GroundTruth* truth() const override { return truth_ ? &*truth_ : nullptr; }
  // p(x) r(x)^beta, with the prior mixture the truth is computed for.
  at::Tensor log_unnormalised_density(const at::Tensor& x) const override;
  at::Tensor grad_log_unnormalised_density(const at::Tensor& x) const override;
  const Reward& reward() const { return *reward_; }
  double beta() const { return beta_; }

 private:
  std::shared_ptr<const Reward> reward_;
  GaussianMixture prior_;
  double beta_;
  std::optional<MixtureTruth> truth_;
};

std::unique_ptr<Target> make_posterior_target(const Config& config);

}  // namespace tilt
