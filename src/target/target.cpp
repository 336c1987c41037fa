#include "target/target.h"

#include <torch/torch.h>

#include "core/error.h"
#include "target/posterior.h"
#include "target/registry.h"

namespace tilt {

at::Tensor GroundTruth::mode_weights() const { throw Error("this ground truth has no modes"); }

std::pair<at::Tensor, at::Tensor> GroundTruth::assign_modes(const at::Tensor&) const {
  throw Error("this ground truth has no modes");
}

at::Tensor Target::autograd_gradient(const std::function<at::Tensor(const at::Tensor&)>& f,
                                     const at::Tensor& x) {
  torch::AutoGradMode enable(true);
  const at::Tensor leaf = x.detach().to(torch::kFloat64).requires_grad_(true);
  const at::Tensor total = f(leaf).sum();
  return torch::autograd::grad({total}, {leaf})[0].to(torch::kFloat32);
}

at::Tensor Target::grad_log_reward(const at::Tensor& x) const {
  return autograd_gradient([this](const at::Tensor& y) { return log_reward(y); }, x);
}

at::Tensor Target::log_unnormalised_density(const at::Tensor& x) const {
  return log_reward(x).to(torch::kFloat64);
}

std::unique_ptr<Target> make_target(const Config& config) {
  if (config.task() == Task::kPosterior) return make_posterior_target(config);
  return find_target_kind(config.target.kind, "target.kind").make(config.target.options);
}

}  // namespace tilt
