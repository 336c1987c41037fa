#include "guidance/exact_mixture.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

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
  std::vector<at::Tensor> firsts, seconds;
  for (const Component& c : components_) {
    firsts.push_back(torch::tensor(c.first, torch::kFloat64));
    seconds.push_back(torch::tensor(c.second, torch::kFloat64));
  }
  first_ = torch::stack(firsts);
  second_ = torch::stack(seconds);
}

ExactMixture ExactMixture::symmetric_gaussians() {
  return ExactMixture(Kind::kGaussian, {{0.5, 0, {-1.0}, {1.0}}, {0.5, 1, {1.0}, {1.0}}});
}

ExactMixture ExactMixture::separated_intervals() {
  return ExactMixture(Kind::kUniform, {{0.5, 0, {-2.0}, {-1.0}}, {0.5, 1, {1.0}, {2.0}}});
}

ExactMixture ExactMixture::corner_squares() {
  return ExactMixture(Kind::kUniform, {{1.0, 1, {0.5, 0.5}, {1.5, 1.5}},
                                       {1.0, 0, {-1.5, -1.5}, {-0.5, -0.5}},
                                       {1.0, 0, {-1.5, 0.5}, {-0.5, 1.5}}});
}

const std::vector<std::string>& ExactMixture::preset_names() {
  static const std::vector<std::string> names = {"gaussians_1d", "intervals_1d", "squares_2d"};
  return names;
}

ExactMixture ExactMixture::preset(const std::string& name) {
  if (name == "gaussians_1d") return symmetric_gaussians();
  if (name == "intervals_1d") return separated_intervals();
  if (name == "squares_2d") return corner_squares();
  std::string known;
  for (const std::string& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("guidance: unknown mixture '" + name + "' (choose " + known + ")");
}

std::pair<at::Tensor, at::Tensor> ExactMixture::components_at(const at::Tensor& x, double t) const {
  if (x.dim() != 2 || x.size(1) != dim() || x.scalar_type() != torch::kFloat64)
    throw Error("guidance: points must be float64 [B, " + std::to_string(dim()) + "]");
  const OuCoefficients ou = OuCoefficients::at(t);
  const double sigma = std::sqrt(ou.variance);
  const at::Tensor first = first_.unsqueeze(1), second = second_.unsqueeze(1);  // [K, 1, D]
  const at::Tensor point = x.unsqueeze(0);                                      // [1, B, D]
  at::Tensor log_p, score;
  if (kind_ == Kind::kGaussian) {
    const at::Tensor variance = ou.mu * ou.mu * second + ou.variance;
    const at::Tensor centred = point - ou.mu * first;
    log_p = (-0.5 * centred.square() / variance - 0.5 * torch::log(2 * M_PI * variance)).sum(2);
    score = -centred / variance;
  } else {
    const at::Tensor middle = (point - ou.mu * (first + second) / 2) / sigma;
    const at::Tensor half_width = (ou.mu * (second - first) / (2 * sigma)).expand_as(middle);
    const auto [log_mass, ratio] = interval_mass_and_ratio(middle, half_width);
    log_p = (log_mass - torch::log(ou.mu * (second - first))).sum(2);
    score = ratio / sigma;
  }
  return {log_p.t(), score};
}

at::Tensor ExactMixture::log_weights(int label) const {
  std::vector<double> weights;
  double total = 0;
  for (const Component& c : components_) {
    const bool member = label < 0 || c.label == label;
    weights.push_back(member ? c.weight : 0.0);
    total += weights.back();
  }
  if (total == 0) throw Error("guidance: no component of class " + std::to_string(label));
  return torch::log(torch::tensor(weights, torch::kFloat64) / total);
}

at::Tensor ExactMixture::mixed_score(const at::Tensor& logs, const at::Tensor& scores,
                                     const at::Tensor& log_weights) {
  return torch::einsum("bk,kbd->bd", {torch::softmax(logs + log_weights, 1), scores});
}

at::Tensor ExactMixture::log_density(const at::Tensor& x, double t, int label) const {
  return torch::logsumexp(components_at(x, t).first + log_weights(label), 1);
}

at::Tensor ExactMixture::score(const at::Tensor& x, double t, int label) const {
  const auto [logs, scores] = components_at(x, t);
  return mixed_score(logs, scores, log_weights(label));
}

at::Tensor ExactMixture::guided_score(const at::Tensor& x, double t, int label, double w) const {
  const auto [logs, scores] = components_at(x, t);
  return (w + 1) * mixed_score(logs, scores, log_weights(label)) -
         w * mixed_score(logs, scores, log_weights(-1));
}

at::Tensor ExactMixture::in_support(const at::Tensor& x, int label, double margin) const {
  if (kind_ == Kind::kGaussian) return torch::ones({x.size(0)}, torch::kBool);
  at::Tensor inside = torch::zeros({x.size(0)}, torch::kBool);
  for (const Component& c : components_) {
    if (label >= 0 && c.label != label) continue;
    const at::Tensor low = torch::tensor(c.first, torch::kFloat64).unsqueeze(0),
                     high = torch::tensor(c.second, torch::kFloat64).unsqueeze(0);
    inside = inside.logical_or((x >= low - margin).logical_and(x <= high + margin).all(1));
  }
  return inside;
}

at::Tensor ExactMixture::far_tail_pull(const at::Tensor& x, double t, int label) const {
  if (kind_ != Kind::kUniform) throw Error("guidance: the far-tail pull is defined for uniform mixtures");
  const std::vector<double> direction = class_direction(label);
  const OuCoefficients ou = OuCoefficients::at(t);
  const double start =
      ou.mu * support_projection(direction, label).second + kFarTailStart * std::sqrt(ou.variance);
  const at::Tensor u = torch::tensor(direction, torch::kFloat64);
  return (x.matmul(u) - start).clamp_min(0).unsqueeze(1) * u.unsqueeze(0) / ou.variance;
}

at::Tensor ExactMixture::sample(const CounterRng& rng, RngStream stream, uint32_t iteration,
                                int64_t row_begin, int64_t rows, int label, at::Tensor* labels) const {
  // Cumulative class weights over every component (a component outside the class adds nothing).
  const at::Tensor weights = log_weights(label).exp();
  const at::Tensor bounds = weights.cumsum(0);
  const at::Tensor pick =
      rng.uniform(stream, iteration, 0, row_begin, rows, 1).to(torch::kFloat64).squeeze(1);
  const at::Tensor normal = rng.normal(stream, iteration, 1, row_begin, rows, dim()).to(torch::kFloat64);
  const at::Tensor uniform = rng.uniform(stream, iteration, 2, row_begin, rows, dim()).to(torch::kFloat64);
  // The first component whose cumulative weight reaches the draw (uniforms lie in (0, 1]; a
  // zero-weight component never does, the clamp only absorbs a sum that rounds below 1).
  const at::Tensor last_member = weights.nonzero().max();
  const at::Tensor index = torch::min(torch::searchsorted(bounds, pick), last_member);
  const at::Tensor first = first_.index_select(0, index), second = second_.index_select(0, index);
  if (labels) {
    std::vector<int64_t> component_labels;
    for (const Component& c : components_) component_labels.push_back(c.label);
    *labels = torch::tensor(component_labels, torch::kInt64).index_select(0, index);
  }
  if (kind_ == Kind::kGaussian) return first + second.sqrt() * normal;
  return first + (second - first) * uniform;
}

int ExactMixture::classes() const {
  int largest = 0;
  for (const Component& c : components_) largest = std::max(largest, c.label);
  return largest + 1;
}

std::vector<double> ExactMixture::mean(int label, bool other_classes) const {
  std::vector<double> sum(static_cast<size_t>(dim()), 0.0);
  double total = 0;
  for (const Component& c : components_) {
    if (label >= 0 && (c.label == label) == other_classes) continue;
    total += c.weight;
    for (size_t d = 0; d < sum.size(); ++d)
      sum[d] += c.weight * (kind_ == Kind::kGaussian ? c.first[d] : (c.first[d] + c.second[d]) / 2);
  }
  if (total == 0)
    throw Error("guidance: no component " + std::string(other_classes ? "outside" : "of") + " class " +
                std::to_string(label));
  for (double& v : sum) v /= total;
  return sum;
}

std::pair<at::Tensor, at::Tensor> ExactMixture::moments() const {
  const at::Tensor weights = torch::tensor(
      [&] {
        std::vector<double> w;
        for (const Component& c : components_) w.push_back(c.weight);
        return w;
      }(),
      torch::kFloat64);
  const at::Tensor p = (weights / weights.sum()).unsqueeze(1);
  // Per component: a Gaussian's (first, second); a uniform's ((a + b) / 2, (b - a)^2 / 12).
  const at::Tensor means = kind_ == Kind::kGaussian ? first_ : (first_ + second_) / 2;
  const at::Tensor variances = kind_ == Kind::kGaussian ? second_ : (second_ - first_).square() / 12;
  const at::Tensor mean = (p * means).sum(0);
  return {mean, (p * (variances + means.square())).sum(0) - mean.square()};
}

std::vector<double> ExactMixture::class_direction(int label) const {
  const std::vector<double> inside = mean(label), outside = mean(label, true);
  std::vector<double> u(inside.size());
  double norm = 0;
  for (size_t d = 0; d < u.size(); ++d) norm += (u[d] = inside[d] - outside[d]) * u[d];
  if (!(norm > 0)) throw Error("guidance: class " + std::to_string(label) + " has the other classes' mean");
  for (double& v : u) v /= std::sqrt(norm);
  return u;
}

std::pair<double, double> ExactMixture::support_projection(const std::vector<double>& u, int label) const {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  if (kind_ == Kind::kGaussian) return {-kInfinity, kInfinity};
  double low = kInfinity, high = -kInfinity;
  for (const Component& c : components_) {
    if (label >= 0 && c.label != label) continue;
    double box_low = 0, box_high = 0;
    for (size_t d = 0; d < u.size(); ++d) {
      box_low += std::min(u[d] * c.first[d], u[d] * c.second[d]);
      box_high += std::max(u[d] * c.first[d], u[d] * c.second[d]);
    }
    low = std::min(low, box_low);
    high = std::max(high, box_high);
  }
  return {low, high};
}

std::vector<std::pair<std::string, at::Tensor>> ExactMixture::figure_data(double sigma) const {
  std::vector<at::Tensor> boxes;
  std::vector<double> labels;
  for (const Component& c : components_) {
    const at::Tensor first = torch::tensor(c.first, torch::kFloat64),
                     second = torch::tensor(c.second, torch::kFloat64);
    boxes.push_back(kind_ == Kind::kUniform
                        ? torch::stack({first, second})
                        : torch::stack({first - 2 * second.sqrt(), first + 2 * second.sqrt()}));
    labels.push_back(c.label);
  }
  return {{"/component_boxes", torch::stack(boxes)},
          {"/component_labels", torch::tensor(labels, torch::kFloat64)},
          {"/support_margin", torch::tensor({kSupportMargin * sigma}, torch::kFloat64)}};
}

}  // namespace tilt::guidance
