#include "guidance/exact_mixture.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt::guidance {
namespace {

at::Tensor log_normal_pdf(const at::Tensor& a) { return -0.5 * a.square() - 0.5 * std::log(2 * M_PI); }

// An interval's noised mass and score in standard units: for a_1 > a_2, m = (a_1 + a_2) / 2 and
// delta = (a_1 - a_2) / 2,
//   log(Phi(a_1) - Phi(a_2))   and   (phi(a_1) - phi(a_2)) / (Phi(a_1) - Phi(a_2)).
// Wide intervals: the pair mirrored to where Phi is small (a_1 + a_2 <= 0), then log Phi(a_1) +
// log(-expm1(log Phi(a_2) - log Phi(a_1))) with log_ndtr, and the ratio as exp(log phi - log mass).
// Narrow ones (delta < kNarrow, e.g. large t, where mu (b - a) << sigma, far in a tail) would lose
// everything to cancellation there; integrating phi(m + r) over |r| <= delta with e^{-r^2/2} = 1 +
// O(delta^2) gives instead
//   log mass = log(2 delta) + log phi(m) + log(sinh(m delta) / (m delta)),
//   ratio    = -m + delta L(m delta),   L(z) = coth z - 1/z (the tilted mean of r),
// both to a relative O(delta^2) < 1e-8.
constexpr double kNarrow = 1e-4;

// log(sinh z / z), stable for small and large |z|.
at::Tensor log_sinhc(const at::Tensor& z) {
  const at::Tensor a = z.abs();
  const at::Tensor small = a < 1e-4;
  const at::Tensor safe = torch::where(small, torch::ones_like(a), a);
  const at::Tensor large = safe - torch::log(2 * safe) + torch::log1p(-torch::exp(-2 * safe));
  return torch::where(small, a.square() / 6, large);
}

// The Langevin function coth z - 1/z, stable for small |z|.
at::Tensor langevin(const at::Tensor& z) {
  const at::Tensor small = z.abs() < 1e-4;
  const at::Tensor safe = torch::where(small, torch::ones_like(z), z);
  return torch::where(small, z / 3, 1 / torch::tanh(safe) - 1 / safe);
}

// From m and delta themselves (a_1 - a_2 computed from x loses delta when |x| >> delta).
std::pair<at::Tensor, at::Tensor> interval_mass_and_ratio(const at::Tensor& m, const at::Tensor& delta) {
  const at::Tensor a1 = m + delta, a2 = m - delta;
  const at::Tensor mirror = (a1 + a2) > 0;
  const at::Tensor upper = torch::where(mirror, -a2, a1), lower = torch::where(mirror, -a1, a2);
  const at::Tensor log_upper = torch::special_log_ndtr(upper);
  const at::Tensor wide_mass =
      log_upper + torch::log(-torch::expm1(torch::special_log_ndtr(lower) - log_upper));
  const at::Tensor wide_ratio =
      torch::exp(log_normal_pdf(a1) - wide_mass) - torch::exp(log_normal_pdf(a2) - wide_mass);
  const at::Tensor narrow = delta < kNarrow;
  const at::Tensor narrow_mass = torch::log(2 * delta) + log_normal_pdf(m) + log_sinhc(m * delta);
  const at::Tensor narrow_ratio = -m + delta * langevin(m * delta);
  return {torch::where(narrow, narrow_mass, wide_mass), torch::where(narrow, narrow_ratio, wide_ratio)};
}

}  // namespace

OuCoefficients OuCoefficients::at(double t) {
  if (!(t > 0) || !std::isfinite(t)) throw Error("guidance: the noise time must be finite and > 0");
  return {std::exp(-t), -std::expm1(-2 * t)};
}

ExactMixture::ExactMixture(Kind kind, std::vector<Component> components)
    : kind_(kind), components_(std::move(components)) {
  if (components_.empty()) throw Error("guidance: a mixture needs at least one component");
  const size_t dim = components_.front().first.size();
  if (dim == 0) throw Error("guidance: components need at least one coordinate");
  for (size_t k = 0; k < components_.size(); ++k) {
    const Component& c = components_[k];
    const std::string where = "guidance: component " + std::to_string(k) + ": ";
    if (c.first.size() != dim || c.second.size() != dim)
      throw Error(where + "every component has the same dimension");
    if (!(c.weight > 0) || !std::isfinite(c.weight)) throw Error(where + "the weight must be finite and > 0");
    if (c.label < 0) throw Error(where + "class labels are >= 0");
    for (size_t d = 0; d < dim; ++d) {
      if (!std::isfinite(c.first[d]) || !std::isfinite(c.second[d]))
        throw Error(where + "parameters must be finite");
      if (kind_ == Kind::kGaussian && c.second[d] < 0) throw Error(where + "variances must be >= 0");
      if (kind_ == Kind::kUniform && !(c.first[d] < c.second[d]))
        throw Error(where + "an interval's lower end must be below its upper end");
    }
  }
}

ExactMixture ExactMixture::symmetric_gaussians() {
  return ExactMixture(Kind::kGaussian, {{0.5, 0, {-1.0}, {1.0}}, {0.5, 1, {1.0}, {1.0}}});
}

ExactMixture ExactMixture::separated_intervals() {
  return ExactMixture(Kind::kUniform, {{0.5, 0, {-2.0}, {-1.0}}, {0.5, 1, {1.0}, {2.0}}});
}

std::pair<at::Tensor, at::Tensor> ExactMixture::components_at(const at::Tensor& x, double t,
                                                              int label) const {
  if (x.dim() != 2 || x.size(1) != dim() || x.scalar_type() != torch::kFloat64)
    throw Error("guidance: points must be float64 [B, " + std::to_string(dim()) + "]");
  const OuCoefficients ou = OuCoefficients::at(t);
  const double sigma = std::sqrt(ou.variance);
  double total_weight = 0;
  for (const Component& c : components_)
    if (label < 0 || c.label == label) total_weight += c.weight;
  if (total_weight == 0) throw Error("guidance: no component of class " + std::to_string(label));
  std::vector<at::Tensor> logs, scores;
  for (const Component& c : components_) {
    if (label >= 0 && c.label != label) continue;
    const at::Tensor first = torch::tensor(c.first, torch::kFloat64).unsqueeze(0),
                     second = torch::tensor(c.second, torch::kFloat64).unsqueeze(0);
    at::Tensor log_p, score;
    if (kind_ == Kind::kGaussian) {
      const at::Tensor variance = ou.mu * ou.mu * second + ou.variance;
      const at::Tensor centred = x - ou.mu * first;
      log_p = (-0.5 * centred.square() / variance - 0.5 * torch::log(2 * M_PI * variance)).sum(1);
      score = -centred / variance;
    } else {
      const at::Tensor middle = (x - ou.mu * (first + second) / 2) / sigma;
      const at::Tensor half_width = (ou.mu * (second - first) / (2 * sigma)).expand_as(middle);
      const auto [log_mass, ratio] = interval_mass_and_ratio(middle, half_width);
      log_p = (log_mass - torch::log(ou.mu * (second - first))).sum(1);
      score = ratio / sigma;
    }
    logs.push_back(std::log(c.weight / total_weight) + log_p);
    scores.push_back(score);
  }
  return {torch::stack(logs, 1), torch::stack(scores)};
}

at::Tensor ExactMixture::log_density(const at::Tensor& x, double t, int label) const {
  return torch::logsumexp(components_at(x, t, label).first, 1);
}

at::Tensor ExactMixture::score(const at::Tensor& x, double t, int label) const {
  const auto [logs, scores] = components_at(x, t, label);
  return torch::einsum("bk,kbd->bd", {torch::softmax(logs, 1), scores});
}

at::Tensor ExactMixture::guided_score(const at::Tensor& x, double t, int label, double w) const {
  return (w + 1) * score(x, t, label) - w * score(x, t, -1);
}

at::Tensor ExactMixture::in_support(const at::Tensor& x, int label) const {
  if (kind_ == Kind::kGaussian) return torch::ones({x.size(0)}, torch::kBool);
  at::Tensor inside = torch::zeros({x.size(0)}, torch::kBool);
  for (const Component& c : components_) {
    if (label >= 0 && c.label != label) continue;
    const at::Tensor low = torch::tensor(c.first, torch::kFloat64).unsqueeze(0),
                     high = torch::tensor(c.second, torch::kFloat64).unsqueeze(0);
    inside = inside.logical_or((x >= low).logical_and(x <= high).all(1));
  }
  return inside;
}

}  // namespace tilt::guidance
