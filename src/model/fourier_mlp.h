// The drift network of gfn-diffusion's "PIS architecture" (research/rtb.md §3): Fourier time
// features sin/cos(f t + phase) with f = linspace(0.1, 100) and a learned phase, embedded by
// Linear-GELU-Linear; the state embedded by one Linear; their sum goes through GELU and `layers`
// hidden Linear-GELU blocks to a Linear output that starts at zero, so a fresh network is the zero
// drift (and "frozen prior + correction" starts exactly at the prior).
// The time embedding is computed once per time and broadcast over the batch: per-sample cost is
// the state and joint layers only (2 (D H + layers H^2 + H D) FLOPs forward).
// With network.engine fused (and a shape the kernels take) forward runs the fused CPU kernels
// (model/fused_network.h) unless gradients must flow into x or t (PIS through the chain).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "model/drift.h"
#include "model/fused_network.h"

namespace tilt {

class FourierMlpImpl : public torch::nn::Module {
 public:
  // `outputs` values per state (default: one per dimension, a drift).
  FourierMlpImpl(int dim, const NetworkConfig& config, int outputs = 0);
  // x [K, B, D], t [K] -> [K, B, O]; `known` (optional): these outputs, already computed by the fused
  // rollout, reused by the fused path.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& known = {});
  // FLOPs of one forward pass for one sample at one time (time embedding excluded).
  double flops_per_sample() const;
  // The fused kernels of this network, or null (engine libtorch, or a shape they do not take).
  FusedFourierMlp* fused() const { return fused_.get(); }

 private:
  int dim_, outputs_;
  NetworkConfig config_;
  at::Tensor frequencies_, phase_;
  torch::nn::Linear time_in_{nullptr}, time_out_{nullptr}, state_in_{nullptr}, out_{nullptr};
  std::vector<torch::nn::Linear> hidden_;
  std::unique_ptr<FusedFourierMlp> fused_;
};
TORCH_MODULE(FourierMlp);

// A network's 2D outputs read as a drift and a log-variance factor tanh(raw) * range, which starts at
// 0 (the process's variance) with the zero-initialised output layer (research/rtb.md §1.1).
StepKernel split_learned_variance(const at::Tensor& outputs, double log_variance_range);

// A trainable drift; parameters() are the network's. With config.log_variance_range the network
// outputs 2D values per state and the kernel learns its variance within exp(+-range).
class NetworkDrift final : public Drift {
 public:
  NetworkDrift(int dim, const NetworkConfig& config);
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const override {
    return kernel(x, t).drift;
  }
  StepKernel kernel(const at::Tensor& x, const at::Tensor& t) const override;
  StepKernel kernel_reusing(const at::Tensor& x, const at::Tensor& t,
                            const at::Tensor& rollout_output) const override;
  std::vector<NamedTensor> parameters() const override;
  double flops_per_sample() const override { return network_->flops_per_sample(); }
  kernels::FourierMlpCpu* fused_network() const override;

 private:
  mutable FourierMlp network_;
  std::optional<double> log_variance_range_;
};

}  // namespace tilt
