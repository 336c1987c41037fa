// A DxMI run's config (`method: dxmi`; configs/dxmi/, docs/configs.md): its own sections, read and
// validated like every tilt config (unknown keys, types, ranges; defaults written back):
//   seed; data {name; images: path, class, limit}; sampler {steps, spacing}; network {architecture: mlp
//   {hidden, fourier_features, layers} | unet {channels}} (dxmi/networks.h); prior {iterations,
//   batch, lr, from} (denoising score matching first; 0 iterations: DxMI from an untrained sampler,
//   or from the prior another run trained);
//   dxmi {...DxmiOptions}; train {iterations, batch, log_every, checkpoint_every}; eval {samples,
//   guidance_scale; images: classifier, classifier_epochs, reference_steps}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "data/data_sets.h"
#include "dxmi/dxmi.h"
#include "dxmi/networks.h"

namespace tilt::dxmi {

// The `eval` section: how the run is judged when training ends (a finished run resumed with other
// samples or guidance_scale is judged again, nothing trained: check_dxmi_resumable).
struct DxmiEvaluationConfig {
  int64_t samples = 5000;
  // The trained sampler's evaluation under value guidance of this scale (Dxmi::value_guidance; 0:
  // none). The starting sampler is read without: it has no value.
  double guidance_scale = 0;
  // Image sets: the feature classifier's file (trained on the training set at first use, then
  // shared by every run naming it), its epochs, and the many-step reading of the prior compared with.
  std::string classifier = "runs/fashion_mnist_classifier.h5";
  int classifier_epochs = 2;
  int reference_steps = 100;
};

struct DxmiConfig {
  uint64_t seed = 0;
  std::string data = "8gaussians";  // 8gaussians | checkerboard (exact 2-D densities) | fashion_mnist
  // Image sets: the directory of IDX files, one class to train on (-1: all; anomaly detection trains
  // on one) and the first `data_limit` training examples only (0: all; small test runs; the
  // feature classifier trains on them too).
  std::string data_path = "/usr/share/datasets/fashion-mnist";
  int data_class = -1;
  int64_t data_limit = 0;
  int steps = 4;
  TimeSpacing spacing = TimeSpacing::kUniform;
  ArchitectureConfig network = mlp_architecture(/*hidden=*/128, /*fourier_features=*/16, /*layers=*/2);
  int prior_iterations = 3000;
  int64_t prior_batch = 512;
  double prior_lr = 1e-3;
  // A run directory whose trained noise predictor this run starts from (its checkpoint past its
  // prior phase); prior_iterations must then be 0. Empty: train the prior here.
  std::string prior_from;
  DxmiOptions options;
  int iterations = 2000;
  int64_t batch = 512;
  int log_every = 100;
  int checkpoint_every = 500;
  DxmiEvaluationConfig eval;

  int total_iterations() const { return prior_iterations + iterations; }
  bool is_image_data() const { return data::is_image_data_set(data); }
};

DxmiConfig parse_dxmi_config(const std::string& yaml_text, const std::vector<std::string>& overrides = {});
DxmiConfig load_dxmi_config(const std::filesystem::path& path,
                            const std::vector<std::string>& overrides = {});
std::string to_yaml(const DxmiConfig& config);

}  // namespace tilt::dxmi
