#include "guidance/conditional_denoiser.h"

#include <torch/torch.h>

#include <cmath>

#include "core/config.h"
#include "guidance/exact_mixture.h"
#include "model/fourier_mlp.h"
#include "train/checkpoint.h"

namespace tilt::guidance {

struct ConditionalDenoiser::Network {
  FourierMlp mlp;
};

namespace {

NetworkConfig network_config(const DenoiserConfig& config) {
  NetworkConfig network;
  network.hidden = config.hidden;
  network.layers = config.layers;
  network.fourier_features = config.fourier_features;
  network.fused = false;  // per-row times in training; the LibTorch path takes every shape
  return network;
}

}  // namespace

ConditionalDenoiser::ConditionalDenoiser(int dim, int classes, const DenoiserConfig& config, double t_min,
                                         double t_max)
    : dim_(dim),
      classes_(classes),
      log_t_min_(std::log(t_min)),
      log_t_range_(std::log(t_max) - std::log(t_min)),
      network_(
          std::make_unique<Network>(Network{FourierMlp(dim + classes + 1, network_config(config), dim)})) {
  adam_ = std::make_unique<Adam>(std::vector<Adam::Group>{{parameters(), config.lr}});
}

ConditionalDenoiser::~ConditionalDenoiser() = default;

at::Tensor ConditionalDenoiser::epsilon(const at::Tensor& x, const at::Tensor& t,
                                        const at::Tensor& labels) const {
  const at::Tensor input =
      torch::cat({x.to(torch::kFloat32), torch::one_hot(labels, classes_ + 1).to(torch::kFloat32)}, 1);
  const at::Tensor time = ((t.log() - log_t_min_) / log_t_range_).to(torch::kFloat32);
  if (time.numel() == 1)  // one time for every row: the time embedding once
    return network_->mlp->forward(input.unsqueeze(0), time.reshape({1})).squeeze(0).to(x.scalar_type());
  return network_->mlp->forward(input.unsqueeze(1), time).squeeze(1).to(x.scalar_type());
}

at::Tensor ConditionalDenoiser::guided_score(const at::Tensor& x, double t, int label, double w) const {
  const at::Tensor time = torch::tensor({t}, torch::kFloat64);
  const int64_t rows = x.size(0);
  const at::Tensor conditional = epsilon(x, time, torch::full({rows}, label, torch::kInt64));
  const at::Tensor guided =
      w == 0 ? conditional
             : (w + 1) * conditional - w * epsilon(x, time, torch::full({rows}, classes_, torch::kInt64));
  return -guided / std::sqrt(OuCoefficients::at(t).variance);
}

at::Tensor ConditionalDenoiser::loss_sum(const at::Tensor& x0, const at::Tensor& labels, const at::Tensor& t,
                                         const at::Tensor& noise) const {
  const at::Tensor mu = torch::exp(-t).unsqueeze(1), sigma = torch::sqrt(-torch::expm1(-2 * t)).unsqueeze(1);
  const at::Tensor noised = mu * x0 + sigma * noise;
  return (epsilon(noised, t, labels) - noise).square().sum() / dim_;
}

std::vector<NamedTensor> ConditionalDenoiser::parameters() const {
  return prefixed("denoiser", named_parameters(*network_->mlp));
}

void ConditionalDenoiser::save(io::H5File& file) const {
  write_parameters(file, parameters());
  adam_->save(file, "/optimizer/denoiser");
}

void ConditionalDenoiser::load(const io::H5File& file) {
  read_parameters(file, parameters());
  adam_->load(file, "/optimizer/denoiser");
}

}  // namespace tilt::guidance
