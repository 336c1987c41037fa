// A multivariate-diffusion run's config (`method: mdm`; configs/mdm/, docs/mdm.md), read and
// validated like every tilt config (unknown keys, types, ranges; defaults written back):
//   seed; data {name: 8gaussians | checkerboard | 2spirals | fashion_mnist; images: path, limit};
//   process {kind, variables, full_dissipation, aux_variance, beta0, beta1, t_min}
//   (mdm/linear_process.h); network {architecture: mlp {hidden, fourier_features, layers} | unet
//   {channels}} (dxmi/architecture_config.h); train {iterations, batch, lr, grad_clip, log_every,
//   checkpoint_every}; eval {examples (2-D: held-out exact samples; images: the first test images,
//   0 for all), samples, sampler_steps}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "data/data_sets.h"
#include "mdm/mdm_model.h"

namespace tilt::mdm {

struct MdmConfig {
  uint64_t seed = 0;
  std::string data = "8gaussians";
  // Images: the IDX directory, and the first `data_limit` training images only (0: all).
  std::string data_path = "/usr/share/datasets/fashion-mnist";
  int64_t data_limit = 0;
  MdmOptions options;
  int iterations = 3000;
  int64_t batch = 512;
  int log_every = 100;
  int checkpoint_every = 1000;
  int64_t eval_examples = 50000;
  int64_t eval_samples = 5000;
  int sampler_steps = 500;

  bool is_image_data() const { return data::is_image_data_set(data); }
};

MdmConfig parse_mdm_config(const std::string& yaml_text, const std::vector<std::string>& overrides = {});
MdmConfig load_mdm_config(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
std::string to_yaml(const MdmConfig& config);

}  // namespace tilt::mdm
