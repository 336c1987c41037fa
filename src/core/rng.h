// Counter-based random streams. A value depends only on (seed, stream, iteration, step, global row,
// column): rank r of N draws exactly the rows of the global batch it owns, so N ranks x B/N see
// the same noise as 1 rank x B, and a resumed run needs no saved generator state beyond the
// iteration counter.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace tilt {

// The iteration counter is split into ranges so that sampling after training never reuses training
// noise: training iterations use [0, 2^30), sampling a trained model uses kSamplingDraws | draw, and
// exact reference samples for evaluation use kExactSampleDraws | draw.
inline constexpr uint32_t kMaxTrainingIterations = 1u << 30;
inline constexpr uint32_t kSamplingDraws = 2u << 30;
inline constexpr uint32_t kExactSampleDraws = 3u << 30;

// What the numbers are for; distinct streams are independent.
enum class RngStream : uint32_t {
  kRolloutNoise = 1,
  kMixtureComponent = 2,
  kMixtureNoise = 3,
  kBackwardNoise = 4,
  kEvaluation = 5,
  kTargetSample = 6,  // exact samples of a target's ground truth (each target uses its own steps)
  kReplay = 7,        // which stored states a replay buffer hands out
  kLocalSearch = 8,   // proposals and acceptance draws of local search
  kDxmiData = 9,      // DxMI: exact samples of the 2-D data densities
  kDxmiPrior = 10,    // DxMI: denoising score matching's times and noise
  kDxmiPolicy = 11,   // DxMI: the policy step's reparameterised noise
  kDataOrder = 12,    // a data set's order in each epoch (data/sharded_loader.h)
  kMdmElbo = 13,      // multivariate diffusions: the ELBO's t, y_t, y_1 (steps 0-2), offset v_0, z (3, 4),
                      // images' dequantisation (5)
  kMdmSampling = 14,  // multivariate diffusions: the reverse SDE's prior draw and step noise
  // tensor networks: autoregressive sampling (steps 0, 1), noising (2), Monte Carlo (3+)
  kTensorNetwork = 15,
  // guidance: iteration 0 the samplers' start (step 0) and reverse-SDE noise (1+), iteration 1 exact
  // data samples (steps 0-2) and their forward noise (3), 2+ a learned model's training
  kGuidance = 16,
};

class CounterRng {
 public:
  explicit CounterRng(uint64_t seed) : seed_(seed) {}
  uint64_t seed() const { return seed_; }

  // float32 tensor [rows, cols] of standard normals for global rows [row_begin, row_begin + rows).
  at::Tensor normal(RngStream stream, uint32_t iteration, uint32_t step, int64_t row_begin, int64_t rows,
                    int64_t cols) const;
  // float32 tensor [rows, cols] of uniforms in (0, 1].
  at::Tensor uniform(RngStream stream, uint32_t iteration, uint32_t step, int64_t row_begin, int64_t rows,
                     int64_t cols) const;

 private:
  uint64_t seed_;
};

}  // namespace tilt
