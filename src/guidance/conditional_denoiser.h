// Classifier-free guidance's learned model (Ho & Salimans): one noise predictor eps(x, t, z) for every
// class z and for the null label (no class), trained by denoising score matching on the OU process of
// guidance/exact_mixture.h with label dropout, so that the same network gives the conditional and
// the unconditional score:
//   x_t = mu x_0 + sigma eps,   loss = |eps_theta(x_t, t, z~) - eps|^2,   z~ = null with prob. p,
//   s(x, t | z) = -eps_theta(x, t, z) / sigma,   guided: -((w + 1) eps(x, t, z) - w eps(x, t, null)) / sigma.
// The network F learns the residual from the noise predictor of Gaussian data with the data's
// per-coordinate mean m and variance v (EDM-style preconditioning, Karras et al. 2022):
//   eps_theta = sigma (x - mu m) / (mu^2 v + sigma^2) + c_out F(x, t, z),   c_out = mu sqrt(v / (mu^2 v +
//   sigma^2)),
// exact for Gaussian data, and c_out -> 0 where x_t is nearly all noise: the probability-flow ODE
// run backward from t_max multiplies an error in eps by up to e^{t_max}, and c_out ~ mu = e^{-t}
// cancels that growth, where a plain eps network (an image U-Net above all) sends samples far off.
// The network is one of dxmi/networks.h's conditional noise predictors: `mlp`, tilt's Fourier-feature
// MLP on [x, one-hot(z or null)] (2-D data), or `unet`, the small U-Net with a class embedding added to
// the time's (images). Its time input is the position of t on the sampler's log-uniform grid,
// (log t - log t_min) / (log t_max - log t_min), and training draws t log-uniformly on that range, as
// the sampler visits it.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "dxmi/networks.h"
#include "model/parameters.h"
#include "train/adam.h"

namespace tilt {
namespace io {
class H5File;
}

namespace guidance {

struct DenoiserConfig {
  // mlp (mixtures; hidden 128, fourier_features 64, layers 3) or unet (images; channels 16).
  dxmi::ArchitectureConfig network = dxmi::mlp_architecture(128, 64, 3);
  double label_dropout = 0.15;
  int iterations = 4000;
  int64_t batch = 1024;
  double lr = 1e-3;
  int log_every = 200, checkpoint_every = 1000;
};

class ConditionalDenoiser {
 public:
  // data_mean, data_variance: float64 [dim] (ClassData::moments).
  ConditionalDenoiser(int dim, int classes, const DenoiserConfig& config, double t_min, double t_max,
                      const at::Tensor& data_mean, const at::Tensor& data_variance);
  ~ConditionalDenoiser();

  int null_label() const { return classes_; }
  // eps_theta(x, t, z) for float64 x [B, D] and per-row labels int64 [B] (null_label(): no class) and
  // times float64 [B]. Float32 inside; [B, D] in x's dtype.
  at::Tensor epsilon(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) const;
  // The guided score at one time for every row: -((w + 1) eps(x, t, z) - w eps(x, t, null)) / sigma,
  // both predictions in one pass over 2B rows.
  at::Tensor guided_score(const at::Tensor& x, double t, int label, double w) const;
  // Denoising score matching on this rank's rows, the sum over them of |eps_theta - eps|^2 / dim
  // (the caller divides by the global batch): x_0 [B, D], labels [B] (dropped ones already null), t and
  // noise as drawn.
  at::Tensor loss_sum(const at::Tensor& x0, const at::Tensor& labels, const at::Tensor& t,
                      const at::Tensor& noise) const;

  std::vector<NamedTensor> parameters() const;
  Adam& optimizer() { return *adam_; }
  void save(io::H5File& file) const;
  void load(const io::H5File& file);

 private:
  int dim_, classes_;
  double log_t_min_, log_t_range_;
  at::Tensor data_mean_, data_variance_;  // float64 [1, D]
  std::unique_ptr<dxmi::StateTimeNetwork> network_;
  std::unique_ptr<Adam> adam_;
};

}  // namespace guidance
}  // namespace tilt
