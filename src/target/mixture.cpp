#include "target/mixture.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {
namespace {

// Squared Mahalanobis radius holding 99.9% of a D-dimensional Gaussian (Wilson-Hilferty).
double outside_radius2(int64_t dim) {
  const double d = static_cast<double>(dim), z = 3.090232306167813;
  return d * std::pow(1 - 2 / (9 * d) + z * std::sqrt(2 / (9 * d)), 3);
}

}  // namespace

at::Tensor MixtureTruth::mode_weights() const { return mixture_.log_weights().exp(); }

std::pair<at::Tensor, at::Tensor> MixtureTruth::assign_modes(const at::Tensor& x) const {
  const at::Tensor mode = mixture_.component_log_joint(x).argmax(1);
  const at::Tensor nearest2 = std::get<0>(mixture_.mahalanobis2(x).min(1));
  return {mode, nearest2 > outside_radius2(mixture_.dim())};
}

MixtureTarget::MixtureTarget(GaussianMixture mixture)
    : truth_(std::move(mixture), 0.0), precisions_(torch::linalg::inv(truth_.mixture().covariances())) {}

at::Tensor MixtureTarget::log_reward(const at::Tensor& x) const {
  return truth_.log_density(x).to(torch::kFloat32);
}

at::Tensor MixtureTarget::grad_log_reward(const at::Tensor& x) const {
  // grad log sum_k w_k N(x; mu_k, Sigma_k) = sum_k resp_k Sigma_k^-1 (mu_k - x).
  const GaussianMixture& m = truth_.mixture();
  const at::Tensor x64 = x.to(torch::kFloat64);
  const at::Tensor responsibility = torch::softmax(m.component_log_joint(x64), 1);  // [N, K]
  const at::Tensor diff = m.means().unsqueeze(0) - x64.unsqueeze(1);                // [N, K, D]
  const at::Tensor pulled = torch::einsum("kde,nke->nkd", {precisions_, diff});
  return (responsibility.unsqueeze(-1) * pulled).sum(1).to(torch::kFloat32);
}

void resolve_mixture_target(ConfigSection& section, YAML::Node& resolved) {
  const YAML::Node emitted = emit_mixture(read_mixture(section));
  for (const auto& entry : emitted) resolved[entry.first] = entry.second;
}

int mixture_target_dim(const YAML::Node& resolved) { return static_cast<int>(resolved["means"][0].size()); }

std::unique_ptr<Target> make_mixture_target(const YAML::Node& resolved) {
  ConfigSection section(resolved, "target");
  section.skip("kind");
  return std::make_unique<MixtureTarget>(GaussianMixture::isotropic(read_mixture(section)));
}

}  // namespace tilt
