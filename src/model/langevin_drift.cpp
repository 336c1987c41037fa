#include "model/langevin_drift.h"

#include <torch/torch.h>

namespace tilt {

TimeScaleImpl::TimeScaleImpl(const NetworkConfig& config) {
  const int h = config.hidden, f = config.fourier_features;
  frequencies_ = register_buffer("frequencies", torch::linspace(0.1, 100.0, f));
  phase_ = register_parameter("phase", torch::randn({f}));
  in_ = register_module("in", torch::nn::Linear(2 * f, h));
  for (int i = 0; i < 2; ++i)
    hidden_.push_back(register_module("hidden" + std::to_string(i), torch::nn::Linear(h, h)));
  out_ = register_module("out", torch::nn::Linear(h, 1));
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.fill_(0.01);
}

at::Tensor TimeScaleImpl::forward(const at::Tensor& t) {
  const at::Tensor angle = t.unsqueeze(-1) * frequencies_ + phase_;  // [K, F]
  at::Tensor h = in_(torch::cat({angle.sin(), angle.cos()}, -1));
  for (auto& layer : hidden_) h = layer(torch::gelu(h));
  return out_(torch::gelu(h)).squeeze(-1);
}

LangevinDrift::LangevinDrift(int dim, const NetworkConfig& network, Score score)
    : log_variance_range_(network.log_variance_range),
      drift_(dim, network, network.log_variance_range ? 2 * dim : dim),
      scale_(network),
      score_(std::move(score)),
      clips_(network.langevin.value_or(LangevinConfig{})) {}

StepKernel LangevinDrift::kernel(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor gradient;
  {
    torch::NoGradGuard no_grad;
    const int64_t dim = x.size(-1);
    gradient =
        score_(x.reshape({-1, dim})).reshape(x.sizes()).clamp(-clips_.gradient_clip, clips_.gradient_clip);
    // A non-finite score (far outside the target's support) contributes nothing rather than NaN.
    gradient = torch::nan_to_num(gradient, 0.0, 0.0, 0.0);
  }
  const at::Tensor scale = scale_->forward(t).view({t.size(0), 1, 1});
  const at::Tensor outputs = drift_->forward(x, t);
  StepKernel out =
      log_variance_range_ ? split_learned_variance(outputs, *log_variance_range_) : StepKernel{outputs};
  out.drift = (out.drift + scale * gradient).clamp(-clips_.drift_clip, clips_.drift_clip);
  return out;
}

std::vector<NamedTensor> LangevinDrift::parameters() const {
  std::vector<NamedTensor> out = named_parameters(*drift_);
  for (auto& scale : named_parameters(*scale_)) out.push_back({"langevin_scale." + scale.name, scale.tensor});
  return out;
}

}  // namespace tilt
