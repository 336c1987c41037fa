#include "train/adam.h"

#include <torch/torch.h>

#include <cmath>
#include <map>

#include "core/error.h"
#include "io/hdf5_file.h"

namespace tilt {

Adam::Adam(std::vector<Group> groups, double beta1, double beta2, double eps)
    : beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (auto& group : groups)
    for (auto& parameter : group.parameters)
      slots_.push_back(
          {parameter, torch::zeros_like(parameter.tensor), torch::zeros_like(parameter.tensor), group.lr});
}

void Adam::zero_grad() {
  for (auto& slot : slots_) {
    at::Tensor& grad = slot.parameter.tensor.mutable_grad();
    if (grad.defined()) grad.zero_();
  }
}

void Adam::step(double lr_scale) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double correction1 = 1 - std::pow(beta1_, static_cast<double>(steps_));
  const double correction2 = 1 - std::pow(beta2_, static_cast<double>(steps_));
  for (auto& slot : slots_) {
    const at::Tensor& grad = slot.parameter.tensor.grad();
    if (!grad.defined()) continue;
    slot.m.mul_(beta1_).add_(grad, 1 - beta1_);
    slot.v.mul_(beta2_).addcmul_(grad, grad, 1 - beta2_);
    const at::Tensor denominator = (slot.v / correction2).sqrt_().add_(eps_);
    slot.parameter.tensor.addcdiv_(slot.m, denominator, -slot.lr * lr_scale / correction1);
  }
}

std::vector<NamedTensor> Adam::state() const {
  std::vector<NamedTensor> out;
  for (const auto& slot : slots_) {
    out.push_back({slot.parameter.name + "/m", slot.m});
    out.push_back({slot.parameter.name + "/v", slot.v});
  }
  return out;
}

void Adam::load_state(const std::vector<NamedTensor>& state, int64_t steps) {
  std::map<std::string, at::Tensor> by_name;
  for (const auto& entry : state) by_name[entry.name] = entry.tensor;
  torch::NoGradGuard no_grad;
  for (auto& slot : slots_) {
    for (auto [suffix, target] : {std::pair{"/m", &slot.m}, std::pair{"/v", &slot.v}}) {
      const auto found = by_name.find(slot.parameter.name + suffix);
      if (found == by_name.end() || found->second.sizes() != target->sizes())
        throw Error("checkpoint: optimiser state for '" + slot.parameter.name +
                    "' is missing or has the wrong shape");
      target->copy_(found->second);
    }
  }
  steps_ = steps;
}

void Adam::save(io::H5File& file, const std::string& group) const {
  for (const auto& entry : state()) file.write(group + "/" + entry.name, entry.tensor);
  file.write(group + "/steps", torch::tensor(steps_, torch::kInt64));
}

void Adam::load(const io::H5File& file, const std::string& group) {
  std::vector<NamedTensor> stored;
  for (const auto& entry : state()) stored.push_back({entry.name, file.read(group + "/" + entry.name)});
  load_state(stored, file.read(group + "/steps").item<int64_t>());
}

std::vector<at::Tensor> Adam::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& slot : slots_) out.push_back(slot.parameter.tensor);
  return out;
}

}  // namespace tilt
