#include "model/fourier_mlp.h"

#include <torch/torch.h>

namespace tilt {

FourierMlpImpl::FourierMlpImpl(int dim, const NetworkConfig& config, int outputs)
    : dim_(dim), outputs_(outputs > 0 ? outputs : dim), config_(config) {
  const int h = config.hidden, f = config.fourier_features;
  frequencies_ = register_buffer("frequencies", torch::linspace(0.1, 100.0, f));
  phase_ = register_parameter("phase", torch::randn({f}));
  time_in_ = register_module("time_in", torch::nn::Linear(2 * f, h));
  time_out_ = register_module("time_out", torch::nn::Linear(h, h));
  state_in_ = register_module("state_in", torch::nn::Linear(dim, h));
  for (int i = 0; i < config.layers; ++i)
    hidden_.push_back(register_module("hidden" + std::to_string(i), torch::nn::Linear(h, h)));
  out_ = register_module("out", torch::nn::Linear(h, outputs_));
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.zero_();
  if (config.fused) fused_ = FusedFourierMlp::make(*this);
}

at::Tensor FourierMlpImpl::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& known) {
  if (fused_ && !x.requires_grad() && !t.requires_grad()) return fused_->forward(x, t, known);
  const at::Tensor angle = t.unsqueeze(-1) * frequencies_ + phase_;  // [K, F]
  at::Tensor time = time_out_(torch::gelu(time_in_(torch::cat({angle.sin(), angle.cos()}, -1))));
  at::Tensor h = torch::gelu(state_in_(x) + time.unsqueeze(1));  // [K, B, H]
  for (auto& layer : hidden_) h = torch::gelu(layer(h));
  return out_(h);
}

double FourierMlpImpl::flops_per_sample() const {
  const double h = config_.hidden;
  return 2.0 * (dim_ * h + config_.layers * h * h + h * outputs_);
}

StepKernel split_learned_variance(const at::Tensor& outputs, double log_variance_range) {
  const int64_t dim = outputs.size(-1) / 2;
  return {outputs.narrow(-1, 0, dim), torch::tanh(outputs.narrow(-1, dim, dim)) * log_variance_range};
}

NetworkDrift::NetworkDrift(int dim, const NetworkConfig& config)
    : network_(dim, config, config.log_variance_range ? 2 * dim : dim),
      log_variance_range_(config.log_variance_range) {}

StepKernel NetworkDrift::kernel(const at::Tensor& x, const at::Tensor& t) const {
  return kernel_reusing(x, t, {});
}

StepKernel NetworkDrift::kernel_reusing(const at::Tensor& x, const at::Tensor& t,
                                        const at::Tensor& rollout_output) const {
  const at::Tensor outputs = network_->forward(x, t, rollout_output);
  if (!log_variance_range_) return {outputs};
  return split_learned_variance(outputs, *log_variance_range_);
}

kernels::FourierMlpCpu* NetworkDrift::fused_network() const {
  if (log_variance_range_ || !network_->fused()) return nullptr;
  return &network_->fused()->kernel();
}

std::vector<NamedTensor> NetworkDrift::parameters() const { return named_parameters(*network_); }

}  // namespace tilt
