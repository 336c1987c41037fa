// A guidance study's config (`method: guidance`; configs/guidance/, docs/guidance.md), read and
// validated like every tilt config (unknown keys, types, ranges; defaults written back):
//   seed;
//   data {mixture (guidance/exact_mixture.h presets) or images (a directory of Fashion-MNIST's IDX
//         files: guidance/image_classes.h; learned models only), class (the guided class z)};
//   model {kind: exact, score_error (lambda: that fraction of the class score's far-tail pull removed)}
//     or {kind: learned, architecture (mlp: hidden, layers, fourier_features; unet: channels; images
//     need unet), label_dropout} (classifier-free guidance's network, guidance/conditional_denoiser.h)
//     with
//   training {iterations, batch, lr, log_every, checkpoint_every} (learned models only);
//   sampling {sampler (ode, sde), samples, steps, t_max, t_min, scales (the guidance scales w),
//             kept_samples (final samples stored for figures), min_in_support and max_pullback
//             (the prescription's support and monotonicity criteria)}.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "guidance/conditional_denoiser.h"

namespace tilt::guidance {

enum class SamplerKind { kProbabilityFlow, kReverseSde };

// How every guidance scale is sampled and judged (guidance/scale_scan.h).
struct SamplingConfig {
  SamplerKind sampler = SamplerKind::kProbabilityFlow;
  int64_t samples = 20000;
  int steps = 500;
  double t_max = 10.0, t_min = 1e-3;
  std::vector<double> scales = {0, 1, 3, 7, 15};
  int64_t kept_samples = 2000;
  // The prescription's support criterion: a scale qualifies while at least this share of its
  // samples lies in the class support.
  double min_in_support = 0.95;
  // The prescription's monotonicity criterion: a mean projected trajectory counts as monotone while
  // its largest fall is within 3 standard errors or at most this fraction of the distance it rose.
  double max_pullback = 0.1;
};

struct GuidanceConfig {
  uint64_t seed = 0;
  std::string mixture = "intervals_1d";
  // Set: the data are this directory's labelled images (the training split), not a mixture.
  std::string images;
  int guided_class = 1;
  // The guided class's score with an error e = score_error x far_tail_pull (exact_mixture.h): it
  // cancels that fraction of the pull back toward the support far beyond its edge, where p_t is
  // small (Theorem 3's setting).
  double score_error = 0.0;
  // Set: the scores come from a conditional model trained here on the mixture's samples.
  std::optional<DenoiserConfig> learned;
  SamplingConfig sampling;
};

GuidanceConfig parse_guidance_config(const std::string& yaml_text,
                                     const std::vector<std::string>& overrides = {});
GuidanceConfig load_guidance_config(const std::filesystem::path& path,
                                    const std::vector<std::string>& overrides = {});
std::string to_yaml(const GuidanceConfig& config);

}  // namespace tilt::guidance
