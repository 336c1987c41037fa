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
#include <utility>
#include <vector>

#include "core/rng.h"
#include "guidance/class_data.h"

namespace tilt::guidance {

// The forward process's coefficients at time t > 0.
struct OuCoefficients {
  double mu, variance;
  static OuCoefficients at(double t);
};

class ExactMixture final : public ClassData {
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
  // Three unit squares in the plane, equally weighted: class 1 on [0.5, 1.5]^2, class 0 on
  // [-1.5, -0.5]^2 and on [-1.5, -0.5] x [0.5, 1.5] (the class direction is not a coordinate axis).
  static ExactMixture corner_squares();
  // By name: gaussians_1d, intervals_1d, squares_2d (an Error names the choices).
  static ExactMixture preset(const std::string& name);
  static const std::vector<std::string>& preset_names();

  int dim() const override { return static_cast<int>(components_.front().first.size()); }
  bool bounded() const override { return kind_ == Kind::kUniform; }
  Kind kind() const { return kind_; }
  const std::vector<Component>& components() const { return components_; }

  // log p_t(x | z) for x float64 [B, D] at time t > 0; label -1: the marginal p_t(x). [B]
  at::Tensor log_density(const at::Tensor& x, double t, int label = -1) const;
  // grad_x log p_t(x | z), [B, D]; label -1: the marginal's.
  at::Tensor score(const at::Tensor& x, double t, int label = -1) const;
  // The guided score (w + 1) grad log p_t(x | z) - w grad log p_t(x).
  at::Tensor guided_score(const at::Tensor& x, double t, int label, double w) const;
  // Whether each x [B, D] lies in the support of class z (uniform components; Gaussians: everywhere),
  // its boxes widened by `margin` on every side.
  at::Tensor in_support(const at::Tensor& x, int label, double margin = 0) const;
  // in_support with the boxes widened by kSupportMargin sigma: the class's own law p_{t_min} has
  // Gaussian edges of width sigma, so exact scores then put ~all samples inside.
  at::Tensor in_support_at_noise(const at::Tensor& x, int label, double sigma) const override {
    return in_support(x, label, kSupportMargin * sigma);
  }
  static constexpr double kSupportMargin = 3.0;
  // Uniform mixtures: the pull back toward class z's support that its score exerts far beyond the
  // support's far edge along the class direction u (class_direction), as a vector along u:
  //   u (<u, x> - mu p_max - kFarTailStart sigma)_+ / sigma^2,   p_max = max <u, y> over the support,
  // zero where p_t(. | z) still has mass (within kFarTailStart sigma of the noised far edge), about the
  // score's magnitude -(<u, x> - mu p_max) / sigma^2 (the noised edge's Gaussian tail) far beyond:
  // a region that holds ~2% of p_t(. | z) at any t. [B, D]
  at::Tensor far_tail_pull(const at::Tensor& x, double t, int label) const;
  static constexpr double kFarTailStart = 2.0;

  // Exact samples of class z (label -1: the mixture), float64 [rows, D], for global rows
  // [row_begin, row_begin + rows) of the given iteration: the component by a uniform (step 0),
  // Gaussian coordinates by normals (step 1), uniform ones by uniforms (step 2). `labels` (optional):
  // set to each row's class, int64 [rows].
  at::Tensor sample(const CounterRng& rng, RngStream stream, uint32_t iteration, int64_t row_begin,
                    int64_t rows, int label = -1, at::Tensor* labels = nullptr) const override;
  // The number of classes: 1 + the largest label.
  int classes() const override;
  // The mean of class z's law, and that of every other class together (label -1: the mixture's).
  std::vector<double> mean(int label, bool other_classes = false) const;
  // The unit vector from the other classes' mean to class z's (the one-vs-rest direction).
  std::vector<double> class_direction(int label) const override;
  // The smallest and largest <u, x> over class z's support (uniform components; Gaussians: +-inf).
  std::pair<double, double> support_projection(const std::vector<double>& u, int label) const override;
  std::pair<at::Tensor, at::Tensor> moments() const override;
  // The components as boxes /component_boxes [K, 2, D] (lower and upper corners; Gaussians: mean -+
  // 2 sd), their labels /component_labels [K] and the support test's margin /support_margin [1].
  std::vector<std::pair<std::string, at::Tensor>> figure_data(double sigma) const override;

 private:
  // Every component's log p_t(x | component) [B, K] and score [K, B, D], all components at once.
  std::pair<at::Tensor, at::Tensor> components_at(const at::Tensor& x, double t) const;
  // log(weight / class weight) of each component in class z (label -1: every class), -inf outside. [K]
  at::Tensor log_weights(int label) const;
  // The score of class z from components_at's output: the components' scores by responsibility.
  static at::Tensor mixed_score(const at::Tensor& logs, const at::Tensor& scores,
                                const at::Tensor& log_weights);

  Kind kind_;
  std::vector<Component> components_;
  at::Tensor first_, second_;  // float64 [K, D]
};

}  // namespace tilt::guidance
