#include "tn/jump_noise.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt::tn {
namespace {

// K(y_i | x_i) for every row and site: [B, N] from the kernel's entries.
at::Tensor site_likelihoods(const at::Tensor& kernel, const at::Tensor& y, const at::Tensor& x) {
  return kernel.index({y, x});
}

}  // namespace

at::Tensor uniform_jump_kernel(int64_t states, double gamma_t) {
  if (states < 2) throw Error("jump noise: at least 2 states a site");
  if (!(gamma_t >= 0) || !std::isfinite(gamma_t)) throw Error("jump noise: gamma t must be finite and >= 0");
  const double stay = std::exp(-static_cast<double>(states) * gamma_t);
  return stay * torch::eye(states, torch::kFloat64) +
         (1 - stay) / static_cast<double>(states) * torch::ones({states, states}, torch::kFloat64);
}

at::Tensor add_noise(const at::Tensor& x, const at::Tensor& kernel, const CounterRng& rng, uint32_t draw,
                     int64_t row_begin) {
  const int64_t q = kernel.size(0);
  const at::Tensor u =
      rng.uniform(RngStream::kTensorNetwork, draw, 2, row_begin, x.size(0), x.size(1)).to(torch::kFloat64);
  // Column x of K, cumulated: y is the first state whose cumulative probability reaches u.
  const at::Tensor cumulative = kernel.cumsum(0).transpose(0, 1).index({x});  // [B, N, q]
  return (cumulative < u.unsqueeze(2)).sum(2).clamp_max(q - 1);
}

at::Tensor denoise(const Mps& clean, const at::Tensor& y, const at::Tensor& kernel, const CounterRng& rng,
                   uint32_t draw, int64_t row_begin) {
  // weights[b, i, a] = K(y_bi | a)
  const at::Tensor weights = kernel.index({y});
  return clean.sample(rng, draw, row_begin, y.size(0), weights);
}

at::Tensor denoise_to(const Mps& clean, const at::Tensor& y, double gamma_t, double gamma_t_earlier,
                      const CounterRng& rng, uint32_t draw, int64_t row_begin) {
  if (!(gamma_t_earlier >= 0 && gamma_t_earlier < gamma_t))
    throw Error("jump noise: denoising goes back in time, 0 <= t' < t");
  const int64_t q = clean.states();
  const Mps earlier = gamma_t_earlier > 0 ? clean.map_sites(uniform_jump_kernel(q, gamma_t_earlier)) : clean;
  return denoise(earlier, y, uniform_jump_kernel(q, gamma_t - gamma_t_earlier), rng, draw, row_begin);
}

at::Tensor denoise_log_prob(const Mps& clean, const at::Tensor& x, const at::Tensor& y,
                            const at::Tensor& kernel) {
  return clean.log_prob(x) + torch::log(site_likelihoods(kernel, y, x)).sum(1) -
         clean.map_sites(kernel).log_prob(y);
}

}  // namespace tilt::tn
