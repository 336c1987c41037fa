// Classifier-free guidance's learned model (Ho & Salimans): one noise predictor eps(x, t, z) for every
// class z and for the null label (no class), trained by denoising score matching on the OU process of
// guidance/exact_mixture.h with label dropout, so that the same network gives the conditional and
// the unconditional score:
//   x_t = mu x_0 + sigma eps,   loss = |eps_theta(x_t, t, z~) - eps|^2,   z~ = null with prob. p,
//   s(x, t | z) = -eps_theta(x, t, z) / sigma,   guided: -((w + 1) eps(x, t, z) - w eps(x, t, null)) / sigma.
// The network is tilt's Fourier-feature MLP (model/fourier_mlp.h) on [x, one-hot(z or null)], its time
// input the position of t on the sampler's log-uniform grid, (log t - log t_min) / (log t_max - log t_min),
// and training draws t log-uniformly on that range, as the sampler visits it.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "model/parameters.h"
#include "train/adam.h"

namespace tilt {
namespace io {
class H5File;
}

namespace guidance {

struct DenoiserConfig {
  int hidden = 128, layers = 3, fourier_features = 64;
  double label_dropout = 0.15;
  int iterations = 4000;
  int64_t batch = 1024;
  double lr = 1e-3;
  int log_every = 200, checkpoint_every = 1000;
};

class ConditionalDenoiser {
 public:
  ConditionalDenoiser(int dim, int classes, const DenoiserConfig& config, double t_min, double t_max);
  ~ConditionalDenoiser();

  int null_label() const { return classes_; }
  // eps_theta(x, t, z) for float64 x [B, D] and per-row labels int64 [B] (null_label(): no class) and
  // times float64 [B]. Float32 inside; [B, D] in x's dtype.
  at::Tensor epsilon(const at::Tensor& x, const at::Tensor& t, const at::Tensor& labels) const;
  // The guided score at one time for every row: -((w + 1) eps(x, t, z) - w eps(x, t, null)) / sigma.
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
  struct Network;
  int dim_, classes_;
  double log_t_min_, log_t_range_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<Adam> adam_;
};

}  // namespace guidance
}  // namespace tilt
