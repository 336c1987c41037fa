// DxMI's image evaluation (docs/dxmi.md). Inception weights cannot be had here, so the Fréchet
// distance is taken in the 128 features of a classifier tilt trains itself on the training set
// (two 3x3 convolution + max-pool stages, 32 and 64 channels, then Linear 128 - ReLU - Linear 10):
// the "feature Fréchet distance" (FFD), a proxy for FID with the same formula. Beside it the pixel-
// space MMD^2 (unbiased, Gaussian kernel exp(-|x - y|^2 / (2 D)): unit length scale per pixel), and
// each beside its noise floor, the same distance between training and test images at the same
// count. With a one-class run, the energy's anomaly-detection AUROC: -E ranks the test images of the
// trained class above those of the other nine.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>

#include "core/rng.h"
#include "data/image_set.h"
#include "dist/communicator.h"
#include "dxmi/diffusion_sampler.h"
#include "dxmi/dxmi.h"

namespace tilt::dxmi {

class FeatureClassifier {
 public:
  FeatureClassifier(int height, int width);
  ~FeatureClassifier();
  FeatureClassifier(FeatureClassifier&&) noexcept;

  // Trained on `train` over all ranks (data-parallel, global batch 128, Adam 1e-3, seed 0: the same
  // classifier for every run), or read from `path` when it exists; written there (atomically) after
  // training. Its test accuracy is printed and stored beside the weights.
  static FeatureClassifier obtain(const std::filesystem::path& path, const data::LabelledImages& train,
                                  const data::LabelledImages& test, int epochs, Communicator& comm,
                                  bool verbose);
  at::Tensor features(const at::Tensor& images) const;  // [N, D] -> float64 [N, 128]
  at::Tensor logits(const at::Tensor& images) const;    // [N, D] -> [N, 10]
  double test_accuracy() const { return test_accuracy_; }

 private:
  struct Network;
  std::unique_ptr<Network> network_;
  double test_accuracy_ = 0;
};

// |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) of the rows' Gaussian fits (float64).
double frechet_distance(const at::Tensor& a, const at::Tensor& b);
// Unbiased MMD^2 of rows [N, D] and [M, D] under exp(-|x - y|^2 / (2 D length_scale^2)).
double mmd_squared(const at::Tensor& x, const at::Tensor& y, double length_scale = 1.0);

// What an image run's evaluations compare with, computed once a run (make_image_evaluation).
struct ImageEvaluation {
  const FeatureClassifier* classifier;
  const data::LabelledImages* test;     // the whole test set (the anomaly AUROC's)
  int trained_class = -1;               // -1: every class
  at::Tensor reference;                 // the first `samples` test images (of the trained class) [n, D]
  at::Tensor reference_features;        // their classifier features
  double ffd_floor = 0, mmd_floor = 0;  // the run's first n training images against `reference`
};
// `reference` holds the test images samples are compared with (the trained class's, or all),
// `train` the run's training examples; n = min(samples, both sizes).
ImageEvaluation make_image_evaluation(const FeatureClassifier& classifier, const data::LabelledImages& train,
                                      const data::LabelledImages& reference, const data::LabelledImages& test,
                                      int trained_class, int64_t samples);

// Sample metrics of `sampler` (`samples` rows over all ranks, noise draw `draw`, each state
// corrected by `guidance` when given: value guidance, dxmi.h) against the
// reference test images, the same on every rank: ffd, ffd_train_vs_test (the floor), mmd,
// mmd_train_vs_test, pixel_mean, pixel_std, and the samples themselves (float32 [samples, D]) for
// the run's files.
Metrics evaluate_image_samples(const DiffusionSampler& sampler, const ImageEvaluation& evaluation,
                               const CounterRng& rng, int64_t samples, uint32_t draw, Communicator& comm,
                               at::Tensor* gathered = nullptr, const StepGuidance& guidance = {});
// auroc_anomaly (one-class runs) and energy_gap (mean E of `samples` minus that of the test images,
// of the trained class in a one-class run: the energy's margin between samples and data).
Metrics evaluate_image_energy(const Dxmi& dxmi, const ImageEvaluation& evaluation, const at::Tensor& samples);

}  // namespace tilt::dxmi
