#include "model/fused_network.h"

#include <torch/torch.h>

#include "core/error.h"
#include "fourier_mlp/fourier_mlp_cpu.h"
#include "model/fourier_mlp.h"

namespace tilt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The parameters in FourierMlpTensors order (the kernels' view of them).
std::vector<at::Tensor> ordered_parameters(FourierMlpImpl& network, int layers) {
  const auto named = network.named_parameters();
  std::vector<std::string> names{"phase",         "time_in.weight",  "time_in.bias", "time_out.weight",
                                 "time_out.bias", "state_in.weight", "state_in.bias"};
  for (int l = 0; l < layers; ++l) {
    names.push_back("hidden" + std::to_string(l) + ".weight");
    names.push_back("hidden" + std::to_string(l) + ".bias");
  }
  names.insert(names.end(), {"out.weight", "out.bias"});
  std::vector<at::Tensor> out;
  for (const auto& name : names) out.push_back(named[name]);
  return out;
}

template <typename Pointer, typename Get>
kernels::FourierMlpTensors<Pointer> view(int layers, Get get) {
  kernels::FourierMlpTensors<Pointer> v{};
  int i = 0;
  v.phase = get(i++);
  v.time_in_weight = get(i++);
  v.time_in_bias = get(i++);
  v.time_out_weight = get(i++);
  v.time_out_bias = get(i++);
  v.state_in_weight = get(i++);
  v.state_in_bias = get(i++);
  for (int l = 0; l < layers; ++l) {
    v.hidden_weight[l] = get(i++);
    v.hidden_bias[l] = get(i++);
  }
  v.out_weight = get(i++);
  v.out_bias = get(i++);
  return v;
}

kernels::FourierMlpShape shape_of(FourierMlpImpl& network) {
  const auto named = network.named_parameters();
  kernels::FourierMlpShape shape;
  shape.dim = static_cast<int>(named["state_in.weight"].size(1));
  shape.hidden = static_cast<int>(named["state_in.weight"].size(0));
  shape.features = static_cast<int>(named["phase"].size(0));
  shape.outputs = static_cast<int>(named["out.weight"].size(0));
  int layers = 0;
  while (named.contains("hidden" + std::to_string(layers) + ".weight")) ++layers;
  shape.layers = layers;
  return shape;
}

// One autograd node per forward. It keeps only the inputs: backward recomputes each tile's
// activations in cache (FourierMlpCpu::backward).
struct FusedForward : torch::autograd::Function<FusedForward> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& t,
                            kernels::FourierMlpCpu* kernel, const at::Tensor* known,
                            at::TensorList parameters) {
    const int steps = static_cast<int>(x.size(0)), batch = static_cast<int>(x.size(1));
    at::Tensor out;
    if (known) {
      out = known->to(torch::kFloat32).clone();
    } else {
      out = torch::empty({steps, batch, kernel->shape().outputs}, torch::kFloat32);
      kernel->forward(x.data_ptr<float>(), t.data_ptr<float>(), steps, batch, out.data_ptr<float>());
    }
    ctx->saved_data["kernel"] = reinterpret_cast<int64_t>(kernel);
    ctx->saved_data["x"] = x;
    ctx->saved_data["t"] = t;
    ctx->saved_data["parameters"] = static_cast<int64_t>(parameters.size());
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto* kernel = reinterpret_cast<kernels::FourierMlpCpu*>(ctx->saved_data["kernel"].toInt());
    const kernels::FourierMlpShape& shape = kernel->shape();
    const at::Tensor x = ctx->saved_data["x"].toTensor(), t = ctx->saved_data["t"].toTensor();
    std::vector<at::Tensor> gradients;
    for (const auto& size : parameter_sizes(shape)) gradients.push_back(torch::zeros(size, torch::kFloat32));
    if (static_cast<int64_t>(gradients.size()) != ctx->saved_data["parameters"].toInt())
      throw Error("fused network: parameter count mismatch");
    const at::Tensor grad_out = grad_outputs[0].contiguous();
    kernel->backward(x.data_ptr<float>(), t.data_ptr<float>(), static_cast<int>(x.size(0)),
                     static_cast<int>(x.size(1)), grad_out.data_ptr<float>(),
                     view<float*>(shape.layers, [&](int i) { return gradients[i].data_ptr<float>(); }));
    variable_list out{at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    out.insert(out.end(), gradients.begin(), gradients.end());
    return out;
  }

  static std::vector<std::vector<int64_t>> parameter_sizes(const kernels::FourierMlpShape& s) {
    const int64_t h = s.hidden;
    std::vector<std::vector<int64_t>> out{{s.features}, {h, 2 * s.features}, {h}, {h, h},
                                          {h},          {h, s.dim},          {h}};
    for (int l = 0; l < s.layers; ++l) out.insert(out.end(), {{h, h}, {h}});
    out.insert(out.end(), {{s.outputs, h}, {s.outputs}});
    return out;
  }
};

}  // namespace

std::unique_ptr<FusedFourierMlp> FusedFourierMlp::make(FourierMlpImpl& network) {
  if (!kernels::fourier_mlp_fusable(shape_of(network))) return nullptr;
  return std::unique_ptr<FusedFourierMlp>(new FusedFourierMlp(network));
}

FusedFourierMlp::FusedFourierMlp(FourierMlpImpl& network) : network_(network) {
  const at::Tensor frequencies = network.named_buffers()["frequencies"].contiguous();
  kernel_ = std::make_unique<kernels::FourierMlpCpu>(shape_of(network), frequencies.data_ptr<float>());
}

FusedFourierMlp::~FusedFourierMlp() = default;

kernels::FourierMlpCpu& FusedFourierMlp::kernel() {
  const std::vector<at::Tensor> parameters = ordered_parameters(network_, kernel_->shape().layers);
  kernel_->set_weights(view<const float*>(kernel_->shape().layers, [&](int i) {
    return static_cast<const float*>(parameters[i].data_ptr<float>());
  }));
  return *kernel_;
}

at::Tensor FusedFourierMlp::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& known) {
  const at::Tensor xc = x.to(torch::kFloat32).contiguous(), tc = t.to(torch::kFloat32).contiguous();
  kernels::FourierMlpCpu& fused = kernel();
  if (known.defined() &&
      known.sizes() != at::IntArrayRef({x.size(0), x.size(1), static_cast<int64_t>(fused.shape().outputs)}))
    throw Error("fused network: reused outputs have the wrong shape");
  if (!torch::GradMode::is_enabled()) {
    if (known.defined()) return known;
    at::Tensor out = torch::empty({x.size(0), x.size(1), fused.shape().outputs}, torch::kFloat32);
    fused.forward(xc.data_ptr<float>(), tc.data_ptr<float>(), static_cast<int>(x.size(0)),
                  static_cast<int>(x.size(1)), out.data_ptr<float>());
    return out;
  }
  // An at::TensorList, not the vector: autograd's argument scan sees variables only in that form.
  const std::vector<at::Tensor> parameters = ordered_parameters(network_, fused.shape().layers);
  return FusedForward::apply(xc, tc, &fused, known.defined() ? &known : nullptr, at::TensorList(parameters));
}

}  // namespace tilt
