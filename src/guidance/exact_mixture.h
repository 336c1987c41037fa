// Mixtures whose noised scores are known exactly (research/tn_mdm_guidance.md part (c)): the data
// law is a weighted sum of components, each a product over coordinates of a Gaussian N(m, v) or a
// uniform law on [a, b], each with a class label. Under the Ornstein-Uhlenbeck forward process
//   dX = -X dt + sqrt(2) dB   (stationary law N(0, I)),   X_t | X_0 = y ~ N(mu y, sigma^2 I),
//   mu = e^{-t}, sigma^2 = 1 - mu^2,
// a component's noised coordinate law is N(mu m, mu^2 v + sigma^2) or
//   p_t(x) = (Phi(a_1) - Phi(a_2)) / (mu (b - a)),   a_1 = (x - mu a) / sigma, a_2 = (x - mu b) / sigma,
// with score (phi(a_1) - phi(a_2)) / (sigma (Phi(a_1) - Phi(a_2))). Everything is evaluated in log
// space (log Phi differences, log-sum-exp over components), so log-densities and scores stay finite
// far outside the support, where guidance drives samples.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace tilt::guidance {

// The forward process's coefficients at time t > 0.
struct OuCoefficients {
  double mu, variance;
  static OuCoefficients at(double t);
};

class ExactMixture {
 public:
  enum class Kind { kGaussian, kUniform };
  struct Component {
    double weight;  // > 0; the mixture normalises the weights
    int label;      // the class z
    // Gaussian: means and variances per coordinate; uniform: lower and upper ends (lower < upper).
    std::vector<double> first, second;
  };

  ExactMixture(Kind kind, std::vector<Component> components);
  // 1/2 N(-1, 1) (class 0) + 1/2 N(1, 1) (class 1) in one dimension: the paper's Gaussian setting.
  static ExactMixture symmetric_gaussians();
  // 1/2 U[-2, -1] (class 0) + 1/2 U[1, 2] (class 1) in one dimension: the compactly supported setting.
  static ExactMixture separated_intervals();

  int dim() const { return static_cast<int>(components_.front().first.size()); }
  Kind kind() const { return kind_; }
  const std::vector<Component>& components() const { return components_; }

  // log p_t(x | z) for x float64 [B, D] at time t > 0; label -1: the marginal p_t(x). [B]
  at::Tensor log_density(const at::Tensor& x, double t, int label = -1) const;
  // grad_x log p_t(x | z), [B, D]; label -1: the marginal's.
  at::Tensor score(const at::Tensor& x, double t, int label = -1) const;
  // The guided score (w + 1) grad log p_t(x | z) - w grad log p_t(x).
  at::Tensor guided_score(const at::Tensor& x, double t, int label, double w) const;
  // Whether each x [B, D] lies in the support of class z (uniform components; Gaussians: everywhere).
  at::Tensor in_support(const at::Tensor& x, int label) const;

 private:
  // Per component: log(weight) + log p_t(x | component) [B, K], and each component's score [K, B, D].
  std::pair<at::Tensor, at::Tensor> components_at(const at::Tensor& x, double t, int label) const;

  Kind kind_;
  std::vector<Component> components_;
};

}  // namespace tilt::guidance
