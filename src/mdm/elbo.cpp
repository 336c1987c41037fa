#include "mdm/elbo.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt::mdm {
namespace {

// log(e^B - 1), the antiderivative of r(t) dt = dB / (1 - e^-B), stable for small and large B.
at::Tensor log_expm1(const at::Tensor& b) { return b + torch::log(-torch::expm1(-b)); }

// Per coordinate and time: the x block's column of the mean applied to x, [B, K, d].
at::Tensor hybrid_mean(const at::Tensor& mean, const at::Tensor& x) {
  return mean.select(2, 0).unsqueeze(2) * x.unsqueeze(1);
}

}  // namespace

ImportanceTime importance_time(const BetaSchedule& schedule, double t_min, const at::Tensor& uniform) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const at::Tensor ends = log_expm1(schedule.integral(torch::tensor({t_min, 1.0}, options)));
  const at::Tensor normaliser = ends[1] - ends[0];
  const at::Tensor b = torch::nn::functional::softplus(ends[0] + uniform.to(torch::kFloat64) * normaliser);
  // B = beta0 t + slope t^2 / 2 solved for t in the form without cancellation (exact at slope 0).
  const double slope = schedule.beta1 - schedule.beta0;
  const at::Tensor t =
      2 * b / (schedule.beta0 + torch::sqrt(schedule.beta0 * schedule.beta0 + 2 * slope * b));
  const at::Tensor clamped = t.clamp(t_min, 1.0);
  const at::Tensor b_t = schedule.integral(clamped);
  return {clamped, schedule.beta(clamped) / -torch::expm1(-b_t) / normaliser};
}

at::Tensor dsm_integrand(const LinearProcess& process, const NoisePredictor& predictor, const at::Tensor& x,
                         const at::Tensor& t, const at::Tensor& state) {
  const int64_t batch = x.size(0), dim = x.size(1), k = process.variables();
  const Transition at_t = process.transition(t);
  const at::Tensor eps = state.to(torch::kFloat64);
  const at::Tensor y = hybrid_mean(at_t.mean, x.to(torch::kFloat64)) + at_t.cholesky.matmul(eps);
  const at::Tensor predicted =
      predictor(y.reshape({batch, k * dim}).to(torch::kFloat32), t.to(torch::kFloat32))
          .to(torch::kFloat64)
          .reshape({batch, k, dim});
  // P = L^-1 (g g^T) L^-T by two triangular solves, no inverse formed.
  const at::Tensor half =
      torch::linalg_solve_triangular(at_t.cholesky, process.diffusion_square(t), /*upper=*/false);
  const at::Tensor p = torch::linalg_solve_triangular(at_t.cholesky, half.transpose(1, 2), /*upper=*/false);
  const at::Tensor miss = predicted - eps;
  const at::Tensor quadratic = (miss * p.matmul(miss)).sum({1, 2});
  const double d = static_cast<double>(dim);
  const at::Tensor trace_p = p.diagonal(0, 1, 2).sum(1);
  const at::Tensor trace_a = process.drift_matrix(t).diagonal(0, 1, 2).sum(1);
  return -0.5 * quadratic + 0.5 * d * trace_p + d * trace_a;
}

at::Tensor elbo(const LinearProcess& process, const NoisePredictor& predictor, const at::Tensor& x,
                const ElboNoise& noise, double t_min) {
  const int64_t k = process.variables();
  const double d = static_cast<double>(x.size(1));
  const at::Tensor x64 = x.to(torch::kFloat64);
  const ImportanceTime time = importance_time(process.config().schedule, t_min, noise.uniform);
  const at::Tensor integrand = dsm_integrand(process, predictor, x, time.t, noise.state);
  const Transition at_end = process.transition(torch::ones({1}, torch::kFloat64));
  const at::Tensor terminal =
      hybrid_mean(at_end.mean, x64) + at_end.cholesky.matmul(noise.terminal.to(torch::kFloat64));
  const double log_two_pi = std::log(2 * M_PI);
  const at::Tensor log_prior =
      -0.5 * terminal.square().sum({1, 2}) - 0.5 * static_cast<double>(k) * d * log_two_pi;
  const double aux_entropy =
      0.5 * d * static_cast<double>(k - 1) * (log_two_pi + 1 + std::log(process.config().aux_variance));
  return log_prior + integrand / time.density + aux_entropy;
}

at::Tensor offset_term(const LinearProcess& process, const NoisePredictor& predictor, const at::Tensor& x,
                       const at::Tensor& aux, const at::Tensor& state, double t_min) {
  const int64_t batch = x.size(0), dim = x.size(1), k = process.variables();
  const at::Tensor start = torch::cat({x.to(torch::kFloat64).unsqueeze(1),
                                       std::sqrt(process.config().aux_variance) * aux.to(torch::kFloat64)},
                                      1);
  const at::Tensor time = torch::full({1}, t_min, torch::TensorOptions().dtype(torch::kFloat64));
  const Transition from_point = process.transition(time, /*from_point=*/true);
  const Transition hybrid = process.transition(time);
  const at::Tensor z = state.to(torch::kFloat64);
  const at::Tensor u = from_point.mean[0].matmul(start) + from_point.cholesky[0].matmul(z);
  const at::Tensor predicted = predictor(u.reshape({batch, k * dim}).to(torch::kFloat32),
                                         torch::full({batch}, static_cast<float>(t_min)))
                                   .to(torch::kFloat64)
                                   .reshape({batch, k, dim});
  // s = -L_{t_min}^-T eps_theta (the score the network parameterises, with the hybrid factor).
  const at::Tensor score =
      -torch::linalg_solve_triangular(hybrid.cholesky[0].transpose(0, 1), predicted, /*upper=*/true);
  const at::Tensor whitened = z + from_point.cholesky[0].transpose(0, 1).matmul(score);
  // log det exp(B A~) = B tr A~ = -B tr D (Q is traceless).
  const at::Tensor log_det = -process.config().schedule.integral(time) * process.dissipation().trace();
  return 0.5 * z.square().sum({1, 2}) - 0.5 * whitened.square().sum({1, 2}) +
         static_cast<double>(dim) * log_det;
}

}  // namespace tilt::mdm
