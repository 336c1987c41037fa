#include "mdm/linear_process.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt::mdm {
namespace {

const auto kFloat64 = torch::TensorOptions().dtype(torch::kFloat64);
constexpr double kDissipationFloor = 1e-3;  // learned D's smallest eigenvalue (reference code's)

at::Tensor matrix(int size, const std::vector<double>& rows) {
  return torch::tensor(rows, kFloat64).reshape({size, size});
}

// exp of a batch of matrices [N, n, n]. LibTorch's matrix_exp picks its Taylor degree from the
// 1-norm (degree 4 below ~3.4e-4) with an error bound relative to the whole matrix, which loses the
// entries whose leading term is of higher order: a process's x variance from a point grows like
// B^3 (CLD) or B^5 (ALDA), the offset term's transition over [0, t_min]. Norms up to 1 take the
// series to degree 30 here (remainder < 1e-33; the structural zeros of the lower orders keep every
// entry's relative accuracy); larger ones go to matrix_exp.
at::Tensor block_exponential(const at::Tensor& m) {
  constexpr double kSeriesNorm = 1.0;
  constexpr int kSeriesDegree = 30;
  const at::Tensor series = m.abs().sum(1).amax(1) <= kSeriesNorm;  // the 1-norm: largest column sum
  at::Tensor out = torch::linalg_matrix_exp(m);
  if (!series.any().item<bool>()) return out;
  const at::Tensor small = m.index({series});
  at::Tensor term = torch::eye(m.size(1), m.options()).expand_as(small);
  at::Tensor sum = term;
  for (int n = 1; n <= kSeriesDegree; ++n) {
    term = term.matmul(small) / n;
    sum = sum + term;
  }
  return out.index_put({series}, sum);
}

int variables_of(const ProcessConfig& config) {
  if (config.kind == "vpsde") return 1;
  if (config.kind == "cld") return 2;
  if (config.kind == "alda" || config.kind == "malda") return 3;
  if (config.kind == "learned") {
    if (config.variables < 1)
      throw Error("process.variables must be >= 1, got " + std::to_string(config.variables));
    return config.variables;
  }
  throw Error("process.kind must be vpsde, cld, alda, malda or learned, got '" + config.kind + "'");
}

}  // namespace

at::Tensor BetaSchedule::beta(const at::Tensor& t) const { return beta0 + t * (beta1 - beta0); }

at::Tensor BetaSchedule::integral(const at::Tensor& t) const {
  return beta0 * t + 0.5 * (beta1 - beta0) * t.square();
}

LinearProcess::LinearProcess(const ProcessConfig& config, uint64_t seed)
    : config_(config), variables_(variables_of(config)) {
  if (!(config.aux_variance > 0)) throw Error("process.aux_variance must be > 0");
  if (!(config.schedule.beta0 > 0) || !(config.schedule.beta1 >= config.schedule.beta0))
    throw Error("process.beta0 must be > 0 and process.beta1 >= beta0");
  const std::string& kind = config.kind;
  if (kind == "vpsde") {
    fixed_skew_ = torch::zeros({1, 1}, kFloat64);
    fixed_dissipation_ = torch::full({1, 1}, 0.5, kFloat64);
  } else if (kind == "cld") {  // M = 1, Gamma = 2 sqrt(M): critical damping
    fixed_skew_ = matrix(2, {0, -1, 1, 0});
    fixed_dissipation_ = matrix(2, {0, 0, 0, 2});
  } else if (kind == "alda") {  // L = 1, gamma = psi = 1 (Mou et al.'s third-order Langevin)
    fixed_skew_ = matrix(3, {0, -1, 0, 1, 0, -1, 0, 1, 0});
    fixed_dissipation_ = matrix(3, {0, 0, 0, 0, 0, 0, 0, 0, 1});
  } else if (kind == "malda") {
    fixed_skew_ = matrix(3, {0, -1, -1, 1, 0, -1, 1, 1, 0});
    fixed_dissipation_ = matrix(3, {0, 0, 0, 0, 2, 0, 0, 0, 2});
  } else {  // learned: factors start U(-1/sqrt K, 1/sqrt K), as the reference's
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const double bound = 1.0 / std::sqrt(static_cast<double>(variables_));
    const auto uniform = [&](at::IntArrayRef shape) {
      return (torch::rand(shape, generator, kFloat64) * 2 - 1).mul_(bound).requires_grad_(true);
    };
    skew_factor_ = uniform({variables_, variables_});
    dissipation_factor_ = config.full_dissipation ? uniform({variables_, variables_}) : uniform({variables_});
  }
}

at::Tensor LinearProcess::skew() const {
  if (fixed_skew_.defined()) return fixed_skew_;
  return skew_factor_ - skew_factor_.transpose(0, 1);
}

at::Tensor LinearProcess::dissipation() const {
  if (fixed_dissipation_.defined()) return fixed_dissipation_;
  const at::Tensor identity = torch::eye(variables_, kFloat64);
  if (config_.full_dissipation)
    return dissipation_factor_.matmul(dissipation_factor_.transpose(0, 1)) + kDissipationFloor * identity;
  return torch::diag(torch::nn::functional::softplus(dissipation_factor_) + kDissipationFloor);
}

at::Tensor LinearProcess::drift_matrix(const at::Tensor& t) const {
  return -config_.schedule.beta(t).view({-1, 1, 1}) * (skew() + dissipation());
}

at::Tensor LinearProcess::diffusion_square(const at::Tensor& t) const {
  return 2 * config_.schedule.beta(t).view({-1, 1, 1}) * dissipation();
}

at::Tensor LinearProcess::initial_covariance() const {
  at::Tensor diagonal = torch::full({variables_}, config_.aux_variance, kFloat64);
  diagonal[0] = 0;
  return torch::diag(diagonal);
}

Transition LinearProcess::transition(const at::Tensor& t, bool from_point) const {
  const int k = variables_;
  const at::Tensor b = config_.schedule.integral(t.to(torch::kFloat64)).view({-1, 1, 1});
  const at::Tensor a = -(skew() + dissipation());
  const at::Tensor top =
      torch::cat({a.expand({b.size(0), k, k}), 2 * dissipation().expand({b.size(0), k, k})}, 2);
  const at::Tensor bottom = torch::cat(
      {torch::zeros({b.size(0), k, k}, kFloat64), -a.transpose(0, 1).expand({b.size(0), k, k})}, 2);
  const at::Tensor block = block_exponential(b * torch::cat({top, bottom}, 1));
  const at::Tensor mean = block.narrow(1, 0, k).narrow(2, 0, k);
  const at::Tensor corner = block.narrow(1, 0, k).narrow(2, k, k);
  const at::Tensor mean_t = mean.transpose(1, 2);
  at::Tensor covariance = corner.matmul(mean_t);
  if (!from_point) covariance = covariance + mean.matmul(initial_covariance()).matmul(mean_t);
  covariance = 0.5 * (covariance + covariance.transpose(1, 2));
  return {mean, covariance, torch::linalg_cholesky(covariance)};
}

std::vector<NamedTensor> LinearProcess::parameters() const {
  if (!skew_factor_.defined()) return {};
  return {{"process/skew_factor", skew_factor_}, {"process/dissipation_factor", dissipation_factor_}};
}

}  // namespace tilt::mdm
