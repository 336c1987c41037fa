// DxMI with the DxDP update (research/dxmi.md §2-3): a T-step diffusion sampler (the policy) and an
// energy-based model trained together by maximum-entropy inverse RL, with a value function V(x, k)
// learned by TD regression backward in time taking the place of back-propagation through the chain.
// One iteration, on this rank's rows of the global data and sampler batches:
//   rollout (no gradients)            x_0 .. x_T from the sampler (value-guided: options.guidance_scale)
//   adaptive velocity regularisation  s_k^2 <- d s_k^2 + (1 - d) mean |x_{k+1} - x_k|^2 / D   (all ranks)
//   energy step                       mean E(data) - mean E(x_T) + gamma (mean E(data)^2 + mean E(x_T)^2)
//   value steps, k = T-1 .. 0         (V(x_k, k) - sg(y_k))^2,  y_k = V(x_{k+1}, k+1) [+ tau2 cost_k - tau1
//   log sigma_k] policy step                       mean over all k and rows of
//                                     V(x', k+1) + tau2 mean_d (x' - x_k)^2 / (2 s_k^2) - tau1 log sigma_k,
//                                     x' = mu_theta(x_k, k) + sigma_k eps (reparameterised; V(., T) = E)
// Every loss is a sum over this rank's rows divided by the global batch, so summed gradients are the
// global batch's; the statistics AVR and the metrics use are all-reduced: N ranks equal one.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "dxmi/diffusion_sampler.h"
#include "train/adam.h"

namespace tilt::dxmi {

struct DxmiOptions {
  double tau_entropy = 0.1;     // tau1: the policy's entropy
  double tau_velocity = 0.01;   // tau2: the velocity (running) cost
  double gamma = 1.0;           // the energy's E^2 regulariser
  double avr_decay = 0.99;      // adaptive velocity regularisation's moving average
  bool shared_value = false;    // V(., T) is the energy network itself (CIFAR) or a network of its own
  bool costs_in_value = false;  // TD targets carry tau2 cost - tau1 log sigma (DxMI_Trainer_EV)
  // The policy loss of the last `skip_sampler_tau` steps is V(x', k + 1) alone: no tau2 cost, no
  // tau1 log sigma (the reference's skip_sampler_tau). The last step's sigma is frozen, so there it
  // drops the running cost only, which otherwise holds back the final step's moves.
  int skip_sampler_tau = 0;
  // Value guidance in the training rollouts (off-policy exploration; Dxmi::value_guidance): 0 = none.
  double guidance_scale = 0;
  double energy_lr = 3e-4, value_lr = 3e-4, sampler_lr = 1e-5, sigma_lr = 1e-3;
  double sampler_grad_clip = 1.0;  // global norm of the sampler's gradient
};

using Metrics = std::vector<std::pair<std::string, double>>;

class Dxmi {
 public:
  Dxmi(const DxmiOptions& options, int dim, int steps, const ArchitectureConfig& network,
       TimeSpacing spacing = TimeSpacing::kUniform);

  DiffusionSampler& sampler() { return sampler_; }
  const DiffusionSampler& sampler() const { return sampler_; }
  at::Tensor energy(const at::Tensor& x) const;        // [B, D] -> [B]
  at::Tensor value(const at::Tensor& x, int k) const;  // V(x, k), k in 0..T; V(., T) = E
  // Value guidance (research/dxmi.md §2.6): each step's new state moves down the value,
  //   x_{k+1} <- x_{k+1} - s sigma_k grad_x V(x_{k+1}, k + 1),
  // towards lower energy for s > 0 (the reference's scale is -s: its "descending energy needs s < 0").
  // Empty for s = 0. The gradient is the value's alone: the chain's states stay without autograd.
  // The guidance reads this Dxmi's current value network (it must not outlive it).
  StepGuidance value_guidance(double scale) const;
  // The sampler's rollout (DiffusionSampler::rollout) under value guidance of `guidance_scale`.
  at::Tensor rollout(const CounterRng& rng, uint32_t draw, const BatchShard& shard,
                     double guidance_scale) const;
  // s_k^2, k = 0..T-1.
  const std::vector<double>& velocity_scale() const { return velocity_scale_; }

  // One iteration: `data` is this rank's rows of the global data batch, the sampler's rows are the
  // same global rows of its rollout (draw `iteration`).
  Metrics iteration(const at::Tensor& data, const CounterRng& rng, uint32_t iteration,
                    const BatchShard& shard, int64_t global_batch, Communicator& comm);
  static std::vector<std::string> metric_names();
  // Network FLOPs of one iteration on a global batch (time embeddings excluded; a backward pass
  // counted as two forward passes): rollout T B eps (+ T B V, fwd + bwd, when guided); energy 2 B
  // (fwd + bwd); values T B targets + T B (fwd + bwd); policy T B (eps and V, fwd + bwd each).
  double flops_per_iteration(int64_t global_batch) const;

  // The pieces, exposed for tests: the TD target of step k (no gradient), the running cost of a step
  // (per row, mean over dimensions), and the adaptive velocity regularisation's update from the
  // global sums of |x_{k+1} - x_k|^2.
  at::Tensor td_target(const at::Tensor& x, const at::Tensor& x_next, int k) const;
  at::Tensor running_cost(const at::Tensor& x, const at::Tensor& x_next, int k) const;
  void update_velocity_scale(const std::vector<double>& square_sums, double count);
  // The policy loss over every transition of `states` ([T + 1, B, D], this rank's rows), summed over
  // rows and divided by T global_batch; noise from (kDxmiPolicy, iteration) by global row.
  at::Tensor policy_loss(const at::Tensor& states, const CounterRng& rng, uint32_t iteration,
                         const BatchShard& shard, int64_t global_batch) const;

  // Everything a checkpoint holds: parameters and optimiser states by name.
  std::vector<NamedTensor> parameters() const;
  void save(io::H5File& file) const;
  void load(const io::H5File& file);

 private:
  std::vector<NamedTensor> energy_parameters() const;
  std::vector<NamedTensor> value_parameters() const;
  void step(Adam& adam, const std::vector<NamedTensor>& parameters, const at::Tensor& loss,
            Communicator& comm, double clip = 0);

  DxmiOptions options_;
  DiffusionSampler sampler_;
  std::unique_ptr<StateTimeNetwork> energy_, value_;
  std::vector<double> velocity_scale_;
  // The networks' time inputs, made once: k / T for the value at step k < T, then the energy's time.
  std::vector<at::Tensor> time_inputs_;
  std::unique_ptr<Adam> energy_adam_, value_adam_, sampler_adam_;
  GradientSync sync_;
};

}  // namespace tilt::dxmi
