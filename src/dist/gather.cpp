#include "dist/gather.h"

#include <torch/torch.h>

namespace tilt {

std::vector<float> gather_rows(const at::Tensor& rows, Communicator& comm, int root) {
  const at::Tensor local = rows.to(torch::kFloat32).contiguous();
  const float* data = local.data_ptr<float>();
  return comm.gather(std::vector<float>(data, data + local.numel()), root);
}

}  // namespace tilt
