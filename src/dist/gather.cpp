#include "dist/gather.h"

#include <torch/torch.h>

namespace tilt {

std::vector<float> gather_rows(const at::Tensor& rows, Communicator& comm, int root) {
  const at::Tensor local = rows.to(torch::kFloat32).contiguous();
  const float* data = local.data_ptr<float>();
  return comm.gather(std::vector<float>(data, data + local.numel()), root);
}

at::Tensor all_gather_rows(const at::Tensor& rows, Communicator& comm) {
  const int64_t columns = rows.size(1);
  std::vector<float> all = gather_rows(rows, comm, 0);
  int64_t total = static_cast<int64_t>(all.size());
  comm.broadcast(&total, sizeof(total), 0);
  all.resize(static_cast<size_t>(total));
  comm.broadcast(all.data(), all.size() * sizeof(float), 0);
  return torch::from_blob(all.data(), {total / columns, columns}, torch::kFloat32).clone();
}

}  // namespace tilt
