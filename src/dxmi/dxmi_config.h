// A DxMI run's config (`method: dxmi`; configs/dxmi/, docs/configs.md): its own sections, read and
// validated like every tilt config (unknown keys, types, ranges; defaults written back):
//   seed; data {name}; sampler {steps}; network {hidden, fourier_features, layers} (the noise
//   predictor, the value and the energy: tilt's Fourier-feature network each); prior {iterations,
//   batch, lr} (denoising score matching first; 0 iterations: DxMI from an untrained sampler);
//   dxmi {...DxmiOptions}; train {iterations, batch, log_every, checkpoint_every}; eval {samples}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "dxmi/dxmi.h"

namespace tilt::dxmi {

struct DxmiConfig {
  uint64_t seed = 0;
  std::string data = "8gaussians";
  int steps = 4;
  NetworkConfig network;
  int prior_iterations = 3000;
  int64_t prior_batch = 512;
  double prior_lr = 1e-3;
  DxmiOptions options;
  int iterations = 2000;
  int64_t batch = 512;
  int log_every = 100;
  int checkpoint_every = 500;
  int64_t eval_samples = 5000;

  int total_iterations() const { return prior_iterations + iterations; }
};

// Whether the YAML file's top-level `method` is dxmi (tilt train dispatches on it).
bool is_dxmi_config(const std::filesystem::path& path);
DxmiConfig parse_dxmi_config(const std::string& yaml_text, const std::vector<std::string>& overrides = {});
DxmiConfig load_dxmi_config(const std::filesystem::path& path,
                            const std::vector<std::string>& overrides = {});
std::string to_yaml(const DxmiConfig& config);

}  // namespace tilt::dxmi
