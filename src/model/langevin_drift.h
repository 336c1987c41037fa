// The Langevin parametrisation (Sendera et al. eq. 14, research/rtb.md §1.3):
//   u(x, t) = clip( NN1(x, t) + NN2(t) clip(grad log R(x), +-gradient_clip), +-drift_clip ),
// NN1 the PIS-architecture drift network, NN2 a scalar network of time alone (Fourier features,
// Linear-GELU blocks, a last layer with weights 0 and bias 0.01, so the drift starts as 0.01 grad log R).
// grad log R is data to the network (no gradient flows through it); it is evaluated at every state a
// drift is asked for, which is what makes these iterations 2-3x slower. With network.log_variance_range,
// NN1 also gives the kernel's log-variance factor (as NetworkDrift does).
#pragma once

#include <functional>
#include <optional>

#include "core/config.h"
#include "model/drift.h"
#include "model/fourier_mlp.h"

namespace tilt {

class TimeScaleImpl : public torch::nn::Module {
 public:
  explicit TimeScaleImpl(const NetworkConfig& config);
  at::Tensor forward(const at::Tensor& t);  // [K] -> [K]

 private:
  at::Tensor frequencies_, phase_;
  torch::nn::Linear in_{nullptr}, out_{nullptr};
  std::vector<torch::nn::Linear> hidden_;
};
TORCH_MODULE(TimeScale);

class LangevinDrift final : public Drift {
 public:
  using Score = std::function<at::Tensor(const at::Tensor&)>;  // grad log R: [N, D] -> [N, D]
  LangevinDrift(int dim, const NetworkConfig& network, Score score);
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const override {
    return kernel(x, t).drift;
  }
  StepKernel kernel(const at::Tensor& x, const at::Tensor& t) const override;
  std::vector<NamedTensor> parameters() const override;
  double flops_per_sample() const override { return drift_->flops_per_sample(); }

 private:
  std::optional<double> log_variance_range_;
  mutable FourierMlp drift_;
  mutable TimeScale scale_;
  Score score_;
  LangevinConfig clips_;
};

}  // namespace tilt
