#include "dist/gradient_sync.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

namespace tilt {

void broadcast_parameters(const std::vector<at::Tensor>& parameters, Communicator& comm) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (const auto& parameter : parameters) {
    at::Tensor contiguous = parameter.contiguous();
    comm.broadcast(contiguous.data_ptr(), contiguous.numel() * contiguous.element_size(), 0);
    if (!contiguous.is_same(parameter)) parameter.copy_(contiguous);
  }
}

void GradientSync::all_reduce(const std::vector<at::Tensor>& parameters, Communicator& comm) {
  if (comm.size() == 1) return;
  std::vector<at::Tensor>
      float32_parameters;  // float32 gradients share buckets; float64 ones (a few scalars) go alone
  for (at::Tensor parameter : parameters) {  // a handle: assigning its grad changes the shared tensor
    if (!parameter.grad().defined()) parameter.mutable_grad() = torch::zeros_like(parameter);
    if (parameter.scalar_type() == torch::kFloat64) {
      at::Tensor grad = parameter.grad();
      const at::Tensor contiguous = grad.contiguous();
      comm.all_reduce_sum(contiguous.data_ptr<double>(), static_cast<size_t>(contiguous.numel()));
      if (!contiguous.is_same(grad)) grad.copy_(contiguous);
    } else {
      float32_parameters.push_back(parameter);
    }
  }
  bucket(float32_parameters, comm);
}

void GradientSync::bucket(const std::vector<at::Tensor>& parameters, Communicator& comm) {
  // Walk parameters in order, packing gradients into a bucket; reduce whenever it is full.
  size_t begin = 0;
  while (begin < parameters.size()) {
    size_t end = begin, floats = 0;
    while (end < parameters.size() &&
           (floats == 0 || floats + static_cast<size_t>(parameters[end].numel()) <= bucket_floats_))
      floats += static_cast<size_t>(parameters[end++].numel());
    bucket_.resize(floats);
    size_t offset = 0;
    for (size_t p = begin; p < end; ++p) {
      const at::Tensor grad = parameters[p].grad().contiguous();
      std::memcpy(bucket_.data() + offset, grad.data_ptr<float>(), grad.numel() * sizeof(float));
      offset += grad.numel();
    }
    comm.all_reduce_sum(bucket_.data(), floats);
    offset = 0;
    for (size_t p = begin; p < end; ++p) {
      at::Tensor grad = parameters[p].grad();
      grad.copy_(torch::from_blob(bucket_.data() + offset, grad.sizes(), torch::kFloat32));
      offset += grad.numel();
    }
    begin = end;
  }
}

}  // namespace tilt
