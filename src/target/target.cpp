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

at::Tensor Target::grad_log_reward(const at::Tensor& x) const {
  torch::AutoGradMode enable(true);
  const at::Tensor leaf = x.detach().to(torch::kFloat64).requires_grad_(true);
  const at::Tensor total = log_reward(leaf).sum();
  return torch::autograd::grad({total}, {leaf})[0].to(torch::kFloat32);
}

std::unique_ptr<Target> make_target(const Config& config) {
  if (config.task() == Task::kPosterior) return make_posterior_target(config);
  return find_target_kind(config.target.kind, "target.kind").make(config.target.options);
}

}  // namespace tilt
