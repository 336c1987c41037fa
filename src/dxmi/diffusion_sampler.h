// The T-step diffusion sampler DxMI fine-tunes (research/dxmi.md §2.4-2.5, §3): DDPM's
// variance-preserving chain (N = 1000 training steps, betas linear from 1e-4 to 0.02) read at T
// strided timesteps n_0 = N - 1 > n_1 > ... > n_{T-1} (TimeSpacing), from x_0 ~ N(0, I) (step 0:
// noise) to x_T (the sample):
//   x_{k+1} = mu_theta(x_k, k) + sigma_k z,   mu_theta = a_k x_k + c_k eps_theta(x_k, n_k / N),
// where a_k, c_k are the DDPM posterior's mean coefficients over the stride (fixed: the learned
// sigma_k scales the injected noise only, never the mean; dxmi.md errata) and sigma_k starts at the
// posterior's standard deviation, learned as log sigma_k; the last step's sigma is frozen (1e-3).
// eps_theta (dxmi/networks.h: an MLP for 2-D data, a U-Net for images) is trained first by denoising
// score matching (epsilon prediction), which makes the DDPM sampler DxMI starts from and is compared
// against, at T steps and at many (with_steps: the same network read at another stride).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "dist/communicator.h"
#include "dxmi/networks.h"
#include "model/parameters.h"

namespace tilt::dxmi {

// Where the T timesteps sit: uniform, n_k + 1 = N (T - k) / T (DDPM's stride); quadratic,
// n_k + 1 = round(N ((T - k) / T)^2), denser near the data (the reference's few-step samplers space
// their noise levels quadratically too), so the last step starts from little noise: at T = 4 the
// timesteps are 999, 562, 249, 62 (the last step's noise std sqrt(1 - abar) 0.21) against uniform
// 999, 749, 499, 249 (0.69). Where rounding would give a timestep below 0 (T >= 45) or repeat one
// (T >= 78), the later ones are pushed up to stay distinct and >= 0.
enum class TimeSpacing { kUniform, kQuadratic };
std::optional<TimeSpacing> parse_time_spacing(const std::string& name);  // "uniform" | "quadratic"
std::string to_string(TimeSpacing spacing);

struct StridedSchedule {
  int steps = 0;              // T
  std::vector<int> timestep;  // n_k
  // Per step k: the mean's coefficients, the initial sigma, the stride's beta (1 - abar_n / abar_next:
  // the variance DDPM adds over the stride, AVR's initial velocity scale) and the network's time n_k / N.
  std::vector<double> a, c, sigma, beta, time;
  static constexpr int kTrainingSteps = 1000;
  static constexpr double kLastSigma = 1e-3;
  static StridedSchedule make(int steps, TimeSpacing spacing = TimeSpacing::kUniform);
  static const std::vector<double>& alpha_bars();  // [N]: prod_{m <= n} (1 - beta_m)
};

// A correction of each step's new state before the next step reads it: (x_{k+1}, k) -> the state
// the chain goes on from (value guidance, dxmi.h). Empty: the sampler's own chain.
using StepGuidance = std::function<at::Tensor(const at::Tensor& next, int k)>;

class DiffusionSampler {
 public:
  DiffusionSampler(int dim, int steps, const ArchitectureConfig& network,
                   TimeSpacing spacing = TimeSpacing::kUniform);
  // The same noise predictor (shared, not copied) at `steps` strided steps, sigmas from the schedule.
  DiffusionSampler with_steps(int steps, TimeSpacing spacing) const;

  int steps() const { return schedule_.steps; }
  int dim() const { return dim_; }
  const StridedSchedule& schedule() const { return schedule_; }
  // mu_theta(x, k) for x [B, D] (with autograd when x or the parameters need it).
  at::Tensor mean(const at::Tensor& x, int k) const;
  // sigma_k: exp(log sigma_k), the frozen last step's constant.
  at::Tensor sigma(int k) const;
  // States [T + 1, B, D] of the global rows of `shard`, noise (kRolloutNoise, draw) by global row;
  // with `guidance`, each new state as guidance corrects it (the same noise: paired with the plain chain).
  at::Tensor rollout(const CounterRng& rng, uint32_t draw, const BatchShard& shard,
                     const StepGuidance& guidance = {}) const;
  // Denoising score matching on `data` (this rank's rows of a global batch of `global_batch`):
  // sum over rows of |eps_theta(x_n, n / N) - eps|^2 / (D global_batch), n uniform in 0..N-1 and eps
  // from (kDxmiPrior, draw) by global row; backward() gives the global mean's gradient once summed.
  at::Tensor denoising_loss(const at::Tensor& data, const CounterRng& rng, uint32_t draw,
                            const BatchShard& shard, int64_t global_batch) const;
  // "eps/<network parameter>" and "log_sigma" ([T - 1]: the last step is frozen).
  std::vector<NamedTensor> network_parameters() const;
  NamedTensor log_sigma() const { return {"log_sigma", log_sigma_}; }
  const StateTimeNetwork& noise_predictor() const { return *eps_; }

 private:
  DiffusionSampler(int dim, StridedSchedule schedule, std::shared_ptr<StateTimeNetwork> eps);

  int dim_;
  StridedSchedule schedule_;
  std::shared_ptr<StateTimeNetwork> eps_;
  at::Tensor log_sigma_;
};

}  // namespace tilt::dxmi
