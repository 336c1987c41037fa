// The fused CPU kernels of the drift network (kernels/fourier_mlp) behind LibTorch's autograd: the
// forward pass is one kernel call, and backward accumulates every parameter's gradient in one pass
// that recomputes each tile's activations in cache. The rollout calls the kernel directly (kernel()).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

namespace tilt {

namespace kernels {
class FourierMlpCpu;
}
class FourierMlpImpl;

class FusedFourierMlp {
 public:
  // Null when the network's shape has no fused kernel (kernels::fourier_mlp_fusable).
  static std::unique_ptr<FusedFourierMlp> make(FourierMlpImpl& network);
  ~FusedFourierMlp();

  // x [K, B, D], t [K] -> [K, B, O]; differentiable in the network's parameters (not in x or t).
  // `known`: the outputs at (x, t) with the current parameters, already computed (the fused rollout's),
  // which the forward then returns instead of computing them again.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& known = {});
  // The kernel with the network's current weights.
  kernels::FourierMlpCpu& kernel();

 private:
  explicit FusedFourierMlp(FourierMlpImpl& network);
  FourierMlpImpl& network_;
  std::unique_ptr<kernels::FourierMlpCpu> kernel_;
};

}  // namespace tilt
