#include "guidance/conditional_denoiser.h"

#include <torch/torch.h>

#include <cmath>

#include "core/config.h"
#include "dxmi/networks.h"
#include "guidance/exact_mixture.h"
#include "train/checkpoint.h"

namespace tilt::guidance {

namespace {

dxmi::ArchitectureConfig architecture(const DenoiserConfig& config) {
  dxmi::ArchitectureConfig architecture = config.network;
  architecture.mlp.fused = false;  // per-row times in training; the LibTorch path takes every shape
  return architecture;
}

}  // namespace

ConditionalDenoiser::ConditionalDenoiser(int dim, int classes, const DenoiserConfig& config, double t_min,
                                         double t_max, const at::Tensor& data_mean,
                                         const at::Tensor& data_variance)
    : dim_(dim),
      classes_(classes),
      log_t_min_(std::log(t_min)),
      log_t_range_(std::log(t_max) - std::log(t_min)),
      data_mean_(data_mean.to(torch::kFloat64).reshape({1, dim})),
      data_variance_(data_variance.to(torch::kFloat64).clamp_min(0).reshape({1, dim})),
      network_(dxmi::make_noise_predictor(architecture(config), dim, 1, classes + 1)) {
  adam_ = std::make_unique<Adam>(std::vector<Adam::Group>{{parameters(), config.lr}});
}

ConditionalDenoiser::~ConditionalDenoiser() = default;

at::Tensor ConditionalDenoiser::epsilon(const at::Tensor& x, const at::Tensor& t,
                                        const at::Tensor& labels) const {
  const at::Tensor time = ((t.log() - log_t_min_) / log_t_range_).to(torch::kFloat32);
  const at::Tensor residual = network_->forward(x.to(torch::kFloat32), time, labels).to(torch::kFloat64);
  const at::Tensor t_column = t.to(torch::kFloat64).reshape({-1, 1});
  const at::Tensor mu = torch::exp(-t_column), variance = -torch::expm1(-2 * t_column);
  const at::Tensor noised_variance = mu.square() * data_variance_ + variance;
  const at::Tensor gaussian = variance.sqrt() * (x.to(torch::kFloat64) - mu * data_mean_) / noised_variance;
  const at::Tensor c_out = mu * (data_variance_ / noised_variance).sqrt();
  return (gaussian + c_out * residual).to(x.scalar_type());
}

at::Tensor ConditionalDenoiser::guided_score(const at::Tensor& x, double t, int label, double w) const {
  const at::Tensor time = torch::tensor({t}, torch::kFloat64);
  const int64_t rows = x.size(0);
  const double sigma = std::sqrt(OuCoefficients::at(t).variance);
  const at::Tensor class_labels = torch::full({rows}, label, torch::kInt64);
  if (w == 0) return -epsilon(x, time, class_labels) / sigma;
  const at::Tensor both = epsilon(torch::cat({x, x}), time,
                                  torch::cat({class_labels, torch::full({rows}, classes_, torch::kInt64)}));
  return -((w + 1) * both.narrow(0, 0, rows) - w * both.narrow(0, rows, rows)) / sigma;
}

at::Tensor ConditionalDenoiser::loss_sum(const at::Tensor& x0, const at::Tensor& labels, const at::Tensor& t,
                                         const at::Tensor& noise) const {
  const at::Tensor mu = torch::exp(-t).unsqueeze(1), sigma = torch::sqrt(-torch::expm1(-2 * t)).unsqueeze(1);
  const at::Tensor noised = mu * x0 + sigma * noise;
  return (epsilon(noised, t, labels) - noise).square().sum() / dim_;
}

std::vector<NamedTensor> ConditionalDenoiser::parameters() const {
  return prefixed("denoiser", network_->parameters());
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
