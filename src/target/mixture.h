// Gaussian-mixture targets and ground truths: 25GMM, 9GMM, 40GMM and explicit mixtures as sampler
// targets (R = the mixture density, log Z = 0), and any mixture (a posterior) as the truth.
#pragma once

#include "core/config_section.h"
#include "model/gaussian_mixture.h"
#include "target/target.h"

namespace tilt {

class MixtureTruth final : public GroundTruth {
 public:
  MixtureTruth(GaussianMixture mixture, double log_z) : mixture_(std::move(mixture)), log_z_(log_z) {}
  int64_t dim() const override { return mixture_.dim(); }
  double log_z() const override { return log_z_; }
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const override {
    return mixture_.sample(rng, draw, row_begin, rows);
  }
  at::Tensor log_density(const at::Tensor& x) const override { return mixture_.log_prob(x); }
  int64_t mode_count() const override { return mixture_.components(); }
  at::Tensor mode_weights() const override;
  std::pair<at::Tensor, at::Tensor> assign_modes(const at::Tensor& x) const override;
  const GaussianMixture& mixture() const { return mixture_; }

 private:
  GaussianMixture mixture_;
  double log_z_;
};

// R = a mixture's (normalised) density.
class MixtureTarget final : public Target {
 public:
  explicit MixtureTarget(GaussianMixture mixture);
  int64_t dim() const override { return truth_.dim(); }
  at::Tensor log_reward(const at::Tensor& x) const override;
  at::Tensor grad_log_reward(const at::Tensor& x) const override;
  const GroundTruth* truth() const override { return &truth_; }

 private:
  MixtureTruth truth_;
  at::Tensor
      precisions_;  // Sigma_k^-1 [K, D, D], inverted once: the score runs at every rollout step with LP
};

// Registry entry points for `target: {kind: mixture, ...}`.
void resolve_mixture_target(ConfigSection& section, YAML::Node& resolved);
int mixture_target_dim(const YAML::Node& resolved);
std::unique_ptr<Target> make_mixture_target(const YAML::Node& resolved);

}  // namespace tilt
