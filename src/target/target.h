// The target seam: log R(x) at the terminal state (a black box to the objectives: no gradient is
// taken), and the ground truth that makes evaluation generic: the exact distribution the trained
// sampler should produce and its exact log normaliser.
//   rtb: R = r, the reward; the truth is the posterior  p(x) r(x) / Z  of the prior mixture.
//   tb, mle: R = the target mixture's density; the truth is the mixture itself, log Z = 0.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "core/config.h"
#include "model/gaussian_mixture.h"

namespace tilt {

class LogReward {
 public:
  virtual ~LogReward() = default;
  virtual at::Tensor operator()(const at::Tensor& x) const = 0;  // [B, D] -> float32 [B]
};

struct GroundTruth {
  GaussianMixture distribution;
  double log_z;
};

struct Target {
  std::shared_ptr<const LogReward> log_reward;
  GroundTruth truth;
};

// N(y; A x, s^2 I) with any m x D matrix A. With an isotropic mixture prior the posterior is a
// mixture with precision I / s_k^2 + A^T A / s^2 per component and closed-form weights and log Z.
class GaussianLikelihood final : public LogReward {
 public:
  GaussianLikelihood(at::Tensor a, at::Tensor y, double noise_variance);
  at::Tensor operator()(const at::Tensor& x) const override;
  GroundTruth posterior(const GaussianMixture& prior) const;

 private:
  at::Tensor a_, y_;  // float64 [m, D], [m]
  double noise_variance_;
};

// log r = log numerator(x) - log prior(x): the posterior of the prior mixture is the numerator.
class MixtureRatio final : public LogReward {
 public:
  MixtureRatio(GaussianMixture numerator, GaussianMixture prior);
  at::Tensor operator()(const at::Tensor& x) const override;
  GroundTruth posterior() const { return {numerator_, 0.0}; }

 private:
  GaussianMixture numerator_, prior_;
};

class MixtureDensity final : public LogReward {
 public:
  explicit MixtureDensity(GaussianMixture mixture) : mixture_(std::move(mixture)) {}
  at::Tensor operator()(const at::Tensor& x) const override;

 private:
  GaussianMixture mixture_;
};

// Builds the target a config asks for; `prior` is the rtb prior's marginal mixture.
Target make_target(const Config& config);

}  // namespace tilt
