#include "dxmi/networks.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/fourier_mlp.h"

namespace tilt::dxmi {
namespace {

// Labels must come exactly when the network was built for `classes` of them, one per row in range.
void check_labels(const at::Tensor& labels, int64_t classes, int64_t rows) {
  if (!labels.defined()) {
    if (classes > 0) throw Error("a conditional network needs a class label per row");
    return;
  }
  if (classes == 0) throw Error("this network takes no class labels");
  if (labels.dim() != 1 || labels.size(0) != rows)
    throw Error("a conditional network needs one class label per row");
  if (labels.numel() > 0 && (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= classes))
    throw Error("class labels must lie in 0.." + std::to_string(classes - 1));
}

// The random Fourier features' seed: fixed, so that every run (and every rank) builds the same critic.
constexpr uint64_t kFrequencySeed = 20201010;

class MlpNetwork final : public StateTimeNetwork {
 public:
  // outputs 0: one per state coordinate (the features and the one-hot block are input only, so not
  // FourierMlp's default of one per input). `features` (critics): x is also read as sin, cos(W x).
  // FourierMlp's flops_per_sample counts its wider first layer; the features' own few FLOPs
  // (4 m D a row) are left out.
  MlpNetwork(int dim, const NetworkConfig& config, int outputs, int classes,
             const CriticFeatures& features = {})
      : classes_(classes),
        network_(dim + 2 * features.count + classes, config, outputs == 0 ? dim : outputs) {
    if (features.count > 0) frequencies_ = critic_frequencies(features.count, dim, features.scale);
  }
  double flops_per_sample() const override { return network_->flops_per_sample(); }
  std::vector<NamedTensor> parameters() const override { return named_parameters(*network_); }

 protected:
  at::Tensor evaluate(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) const override {
    check_labels(labels, classes_, x.size(0));
    std::vector<at::Tensor> columns{x};
    if (frequencies_.defined()) {
      const at::Tensor phase = x.matmul(frequencies_.t());
      columns.push_back(phase.sin());
      columns.push_back(phase.cos());
    }
    if (classes_ > 0) columns.push_back(torch::one_hot(labels, classes_).to(x.scalar_type()));
    const at::Tensor input = columns.size() == 1 ? x : torch::cat(columns, 1);
    // FourierMlp takes [K, B, D] at K times: one time broadcast over the rows, or each row at its own.
    if (t.numel() == 1) return network_->forward(input.unsqueeze(0), t.reshape({1}))[0];
    return network_->forward(input.unsqueeze(1), t).squeeze(1);
  }

 private:
  int classes_;
  at::Tensor frequencies_;  // [m, dim], or undefined: raw coordinates only
  mutable FourierMlp network_;
};

// DDPM's sinusoidal features of t in [0, 1] (scaled to 0..1000, the training steps): [B, width].
at::Tensor sinusoidal(const at::Tensor& t, int64_t width) {
  const int64_t half = width / 2;
  const at::Tensor frequencies =
      torch::exp(-std::log(10000.0) * torch::arange(half, torch::kFloat32) / static_cast<double>(half));
  const at::Tensor angles = (t.to(torch::kFloat32) * 1000).unsqueeze(1) * frequencies.unsqueeze(0);
  return torch::cat({angles.sin(), angles.cos()}, 1);
}

// GroupNorm groups of at least 4 channels (DDPM: 32 groups of 128+ channels). With one channel a
// group, per-channel constants — a convolution's bias, the time embedding added after it — would be
// normalised away and their gradients would be round-off.
int64_t groups_for(int64_t channels) {
  int64_t groups = std::max<int64_t>(1, channels / 4);
  while (channels % groups != 0) --groups;
  return groups;
}

double conv_flops(int64_t side, int64_t in, int64_t out, int64_t kernel) {
  return 2.0 * static_cast<double>(side * side * kernel * kernel * in * out);
}

struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(int64_t in, int64_t out, int64_t time_width)
      : norm1(register_module("norm1", torch::nn::GroupNorm(groups_for(in), in))),
        conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)))),
        time(register_module("time", torch::nn::Linear(time_width, out))),
        norm2(register_module("norm2", torch::nn::GroupNorm(groups_for(out), out))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)))) {
    if (in != out) skip = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& embedding) {
    at::Tensor h = conv1(torch::silu(norm1(x)));
    h = h + time(embedding).unsqueeze(-1).unsqueeze(-1);
    h = conv2(torch::silu(norm2(h)));
    return h + (skip ? skip(x) : x);
  }
  static double flops(int64_t side, int64_t in, int64_t out) {
    return conv_flops(side, in, out, 3) + conv_flops(side, out, out, 3) +
           (in != out ? conv_flops(side, in, out, 1) : 0.0);
  }
  torch::nn::GroupNorm norm1;
  torch::nn::Conv2d conv1;
  torch::nn::Linear time;
  torch::nn::GroupNorm norm2;
  torch::nn::Conv2d conv2;
  torch::nn::Conv2d skip{nullptr};
};
TORCH_MODULE(ResidualBlock);

torch::nn::Conv2d downsample(int64_t channels) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1));
}

// Rows [B, image_channels side^2] at times t ([1] or [B]) -> images [B, image_channels, side, side]
// and per-row times [B].
std::pair<at::Tensor, at::Tensor> as_images(const at::Tensor& x, const at::Tensor& t, int side,
                                            int64_t image_channels = 1) {
  const int64_t rows = x.size(0);
  const at::Tensor times = t.numel() == 1 ? t.reshape({1}).expand({rows}) : t;
  return {x.reshape({rows, image_channels, side, side}), times};
}

class UNetImpl : public torch::nn::Module {
 public:
  UNetImpl(int side, int64_t c, int64_t image_channels, int64_t classes)
      : side_(side), c_(c), image_channels_(image_channels), classes_(classes) {
    const int64_t width = 4 * c;
    time1_ = register_module("time1", torch::nn::Linear(c, width));
    time2_ = register_module("time2", torch::nn::Linear(width, width));
    if (classes > 0) label_ = register_module("label", torch::nn::Embedding(classes, width));
    in_ = register_module("in", torch::nn::Conv2d(torch::nn::Conv2dOptions(image_channels, c, 3).padding(1)));
    down1_ = register_module("down1", ResidualBlock(c, c, width));
    pool1_ = register_module("pool1", downsample(c));
    down2_ = register_module("down2", ResidualBlock(c, 2 * c, width));
    pool2_ = register_module("pool2", downsample(2 * c));
    middle_ = register_module("middle", ResidualBlock(2 * c, 2 * c, width));
    up2_ = register_module("up2", ResidualBlock(4 * c, 2 * c, width));
    up1_ = register_module("up1", ResidualBlock(3 * c, c, width));
    out_norm_ = register_module("out_norm", torch::nn::GroupNorm(groups_for(c), c));
    out_ =
        register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, image_channels, 3).padding(1)));
    torch::NoGradGuard no_grad;
    out_->weight.zero_();
    out_->bias.zero_();
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) {
    check_labels(labels, classes_, x.size(0));
    const auto [image, times] = as_images(x, t, side_, image_channels_);
    at::Tensor embedding = time2_(torch::silu(time1_(sinusoidal(times, c_))));
    if (classes_ > 0) embedding = embedding + label_(labels);
    const at::Tensor h1 = down1_(in_(image), embedding);
    const at::Tensor h2 = down2_(pool1_(h1), embedding);
    at::Tensor h = middle_(pool2_(h2), embedding);
    const auto upsample = [](const at::Tensor& v) {
      return torch::nn::functional::interpolate(v, torch::nn::functional::InterpolateFuncOptions()
                                                       .scale_factor(std::vector<double>{2, 2})
                                                       .mode(torch::kNearest));
    };
    h = up2_(torch::cat({upsample(h), h2}, 1), embedding);
    h = up1_(torch::cat({upsample(h), h1}, 1), embedding);
    return out_(torch::silu(out_norm_(h))).reshape({x.size(0), -1});
  }
  double flops_per_sample() const {
    const int64_t s = side_, c = c_, k = image_channels_;
    return conv_flops(s, k, c, 3) + ResidualBlockImpl::flops(s, c, c) + conv_flops(s / 2, c, c, 3) +
           ResidualBlockImpl::flops(s / 2, c, 2 * c) + conv_flops(s / 4, 2 * c, 2 * c, 3) +
           ResidualBlockImpl::flops(s / 4, 2 * c, 2 * c) + ResidualBlockImpl::flops(s / 2, 4 * c, 2 * c) +
           ResidualBlockImpl::flops(s, 3 * c, c) + conv_flops(s, c, k, 3);
  }

 private:
  int side_;
  int64_t c_, image_channels_, classes_;
  torch::nn::Linear time1_{nullptr}, time2_{nullptr};
  torch::nn::Embedding label_{nullptr};
  torch::nn::Conv2d in_{nullptr}, pool1_{nullptr}, pool2_{nullptr}, out_{nullptr};
  ResidualBlock down1_{nullptr}, down2_{nullptr}, middle_{nullptr}, up2_{nullptr}, up1_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
};
TORCH_MODULE(UNet);

class CriticImpl : public torch::nn::Module {
 public:
  CriticImpl(int side, int64_t c) : side_(side), c_(c) {
    const int64_t widths[3] = {c, 2 * c, 4 * c};
    int64_t in = 1;
    for (int layer = 0; layer < 3; ++layer) {
      const std::string index = std::to_string(layer);
      convs_.push_back(register_module(
          "conv" + index,
          torch::nn::Conv2d(
              torch::nn::Conv2dOptions(in, widths[layer], 3).stride(layer == 0 ? 1 : 2).padding(1))));
      norms_.push_back(
          register_module("norm" + index, torch::nn::GroupNorm(groups_for(widths[layer]), widths[layer])));
      times_.push_back(register_module("time" + index, torch::nn::Linear(c, widths[layer])));
      in = widths[layer];
    }
    out_ = register_module("out", torch::nn::Linear(4 * c, 1));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) {
    check_labels(labels, 0, x.size(0));
    const auto [image, times] = as_images(x, t, side_);
    const at::Tensor features = sinusoidal(times, c_);
    at::Tensor h = image;
    for (size_t layer = 0; layer < convs_.size(); ++layer)
      h = torch::silu(norms_[layer](convs_[layer](h)) + times_[layer](features).unsqueeze(-1).unsqueeze(-1));
    return out_(h.mean({2, 3}));
  }
  double flops_per_sample() const {
    const int64_t s = side_, c = c_;
    return conv_flops(s, 1, c, 3) + conv_flops(s / 2, c, 2 * c, 3) + conv_flops(s / 4, 2 * c, 4 * c, 3) +
           2.0 * 4 * static_cast<double>(c);
  }

 private:
  int side_;
  int64_t c_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::GroupNorm> norms_;
  std::vector<torch::nn::Linear> times_;
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Critic);

template <typename Module>
class ImageNetwork final : public StateTimeNetwork {
 public:
  template <typename... Arguments>
  explicit ImageNetwork(Arguments... arguments) : network_(arguments...) {}
  std::vector<NamedTensor> parameters() const override { return named_parameters(*network_); }
  double flops_per_sample() const override { return network_->flops_per_sample(); }

 protected:
  at::Tensor evaluate(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) const override {
    return network_->forward(x, t, labels);
  }

 private:
  mutable Module network_;
};

}  // namespace

at::Tensor critic_frequencies(int features, int dim, double scale) {
  const at::Generator generator = at::detail::createCPUGenerator(kFrequencySeed);
  return torch::randn({features, dim}, generator, torch::kFloat32) * scale;
}

int image_side(const ArchitectureConfig& config, int dim, int image_channels) {
  if (config.kind == "mlp") return 0;
  const int pixels = dim / image_channels;
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(pixels))));
  if (pixels * image_channels != dim || side * side != pixels || side % 4 != 0)
    throw Error("network.architecture " + config.kind + " reads square images of a side divisible by 4; " +
                std::to_string(dim) + " values per row are not " + std::to_string(image_channels) +
                " such channels (2-D data: architecture mlp)");
  return side;
}

std::unique_ptr<StateTimeNetwork> make_noise_predictor(const ArchitectureConfig& config, int dim,
                                                       int image_channels, int classes) {
  if (config.kind == "unet")
    return std::make_unique<ImageNetwork<UNet>>(image_side(config, dim, image_channels), config.channels,
                                                image_channels, classes);
  return std::make_unique<MlpNetwork>(dim, config.mlp, 0, classes);
}

std::unique_ptr<StateTimeNetwork> make_critic(const ArchitectureConfig& config, int dim) {
  if (config.kind == "unet")
    return std::make_unique<ImageNetwork<Critic>>(image_side(config, dim), config.channels);
  return std::make_unique<MlpNetwork>(dim, config.mlp, 1, 0, config.critic_features);
}

}  // namespace tilt::dxmi
