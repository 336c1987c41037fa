#include "model/learned_backward.h"

#include <torch/torch.h>

namespace tilt {

LearnedBackward::LearnedBackward(int dim, const NetworkConfig& network, double scale_range)
    : network_(dim, network, 2 * dim), scale_range_(scale_range) {}

BackwardCorrection LearnedBackward::operator()(const at::Tensor& x_next, const at::Tensor& t_next) const {
  const at::Tensor factors = 1.0 + scale_range_ * torch::tanh(network_->forward(x_next, t_next));
  const int64_t dim = x_next.size(-1);
  return {factors.narrow(-1, 0, dim), factors.narrow(-1, dim, dim)};
}

std::vector<NamedTensor> LearnedBackward::parameters() const { return named_parameters(*network_); }

}  // namespace tilt
