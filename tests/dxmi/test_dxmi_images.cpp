// DxMI's image pieces: the networks' shapes and starting point, the image metrics against closed
// forms for Gaussians (the Fréchet distance, the kernel MMD), and the feature classifier on a set
// whose classes a classifier must separate.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "data/image_set.h"
#include "dist/communicator.h"
#include "dxmi/evaluate_images.h"
#include "dxmi/networks.h"

namespace tilt::dxmi {
namespace {

ArchitectureConfig unet(int channels) {
  ArchitectureConfig config;
  config.kind = "unet";
  config.channels = channels;
  return config;
}

// The U-Net maps rows to rows and starts at zero (its output convolution is zeroed); the critic gives
// one value a row; a time for every row equals the same time given once.
TEST(DxmiNetworks, ImageNetworksShapesAndTimes) {
  torch::manual_seed(0);
  const auto eps = make_noise_predictor(unet(8), 16 * 16);
  const auto critic = make_critic(unet(8), 16 * 16);
  const at::Tensor x = torch::randn({5, 256});
  const at::Tensor once = torch::full({1}, 0.3f), each = torch::full({5}, 0.3f);
  const at::Tensor out = eps->forward(x, once);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{5, 256}));
  EXPECT_EQ(out.abs().max().item<float>(), 0.0f);
  const at::Tensor v = critic->forward(x, once);
  ASSERT_EQ(v.sizes(), (std::vector<int64_t>{5, 1}));
  EXPECT_TRUE(torch::allclose(v, critic->forward(x, each)));
  // Times matter: a row at t = 0.9 differs from the same row at t = 0.3.
  EXPECT_GT((critic->forward(x, torch::full({1}, 0.9f)) - v).abs().max().item<float>(), 1e-6f);
  EXPECT_GT(eps->flops_per_sample(), critic->flops_per_sample());
  EXPECT_THROW(make_noise_predictor(unet(8), 50), Error);
  EXPECT_THROW(make_critic(unet(8), 36), Error);  // side 6: not divisible by 4
}

// A multivariate diffusion's state: K = 3 variables a pixel read as 3 channels of one image, each
// output channel at its own variable's pixels.
TEST(DxmiNetworks, UNetReadsSeveralImageChannels) {
  torch::manual_seed(1);
  const auto eps = make_noise_predictor(unet(8), 3 * 8 * 8, 3);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : eps->parameters()) p.tensor.add_(0.1 * torch::randn_like(p.tensor));
  }
  const at::Tensor x = torch::randn({4, 3 * 64}, torch::requires_grad());
  const at::Tensor out = eps->forward(x, torch::full({1}, 0.5f));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{4, 192}));
  // Every input channel reaches the output: the third variable's pixels move the first's outputs.
  out.narrow(1, 0, 64).sum().backward();
  EXPECT_GT(x.grad().narrow(1, 128, 64).abs().sum().item<float>(), 0.0f);
  EXPECT_GT(eps->flops_per_sample(), make_noise_predictor(unet(8), 64)->flops_per_sample());
  EXPECT_THROW(make_noise_predictor(unet(8), 3 * 64 + 1, 3), Error);
}

// Gaussians N(m1, S1), N(m2, S2) with non-commuting 2 x 2 covariances: FD = |m1 - m2|^2 + tr S1 + tr S2
// - 2 tr (S1^1/2 S2 S1^1/2)^1/2, and for 2 x 2 matrices tr M^1/2 = sqrt(tr M + 2 sqrt(det M)) with
// tr M = tr(S1 S2), det M = det S1 det S2. From 200 000 samples each the estimate's error is a few
// 1e-3 (sample means and covariances: O(1/sqrt N)); tolerance 0.03.
TEST(ImageMetrics, FrechetDistanceMatchesTheGaussianClosedForm) {
  torch::manual_seed(1);
  const at::Tensor s1 = torch::tensor({{2.0, 0.6}, {0.6, 1.0}}, torch::kFloat64);
  const at::Tensor s2 = torch::tensor({{0.5, -0.3}, {-0.3, 1.5}}, torch::kFloat64);
  const at::Tensor m1 = torch::tensor({0.0, 1.0}, torch::kFloat64),
                   m2 = torch::tensor({1.0, -0.5}, torch::kFloat64);
  const int64_t n = 200000;
  const at::Tensor a =
      m1 + torch::randn({n, 2}, torch::kFloat64).matmul(torch::linalg_cholesky(s1).transpose(0, 1));
  const at::Tensor b =
      m2 + torch::randn({n, 2}, torch::kFloat64).matmul(torch::linalg_cholesky(s2).transpose(0, 1));
  const double cross = std::sqrt(s1.matmul(s2).trace().item<double>() +
                                 2 * std::sqrt(s1.det().item<double>() * s2.det().item<double>()));
  const double exact = (m1 - m2).square().sum().item<double>() + s1.trace().item<double>() +
                       s2.trace().item<double>() - 2 * cross;
  EXPECT_NEAR(frechet_distance(a, b), exact, 0.03) << "exact " << exact;
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-6);
}

// x ~ N(0, s1^2 I_d), y ~ N(mu, s2^2 I_d) and k(u, v) = exp(-|u - v|^2 / (2 L^2)), L^2 = d: E k over
// independent pairs is (L^2 / (L^2 + v))^{d/2} exp(-|dm|^2 / (2 (L^2 + v))) with v the sum of the two
// variances. The unbiased estimator from 3000 + 3000 samples has a standard deviation of ~3e-3
// here; tolerance 0.015.
TEST(ImageMetrics, MmdMatchesTheGaussianClosedForm) {
  torch::manual_seed(2);
  const int64_t d = 4, n = 3000;
  const double s1 = 1.0, s2 = 0.5, shift = 1.5, l2 = static_cast<double>(d);
  const at::Tensor mu = torch::full({d}, shift / 2.0, torch::kFloat64);  // |mu|^2 = shift^2 when d = 4
  const at::Tensor x = s1 * torch::randn({n, d}, torch::kFloat64);
  const at::Tensor y = mu + s2 * torch::randn({n, d}, torch::kFloat64);
  const auto expected_kernel = [&](double v, double mean_square) {
    return std::pow(l2 / (l2 + v), d / 2.0) * std::exp(-mean_square / (2 * (l2 + v)));
  };
  const double exact = expected_kernel(2 * s1 * s1, 0) + expected_kernel(2 * s2 * s2, 0) -
                       2 * expected_kernel(s1 * s1 + s2 * s2, shift * shift);
  EXPECT_NEAR(mmd_squared(x, y), exact, 0.015) << "exact " << exact;
  EXPECT_NEAR(mmd_squared(x, s1 * torch::randn({n, d}, torch::kFloat64)), 0.0, 0.015);
}

// 28 x 28 images of class k: a bright 7 x 7 patch at the k-th of 10 places on a 4 x 4 grid, under
// pixel noise of std 0.3 (the patch's mean stands 3.3 noise-stds of its 49-pixel average apart).
data::LabelledImages patch_images(int64_t count, uint64_t seed) {
  torch::manual_seed(seed);
  data::LabelledImages set{torch::full({count, 28, 28}, -1.0f), torch::randint(0, 10, {count}, torch::kInt64),
                           28, 28};
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = set.labels[i].item<int64_t>(), row = 7 * (k / 4), column = 7 * (k % 4);
    set.images[i].narrow(0, row, 7).narrow(1, column, 7).fill_(1.0f);
  }
  set.images = (set.images + 0.3 * torch::randn_like(set.images)).clamp(-1, 1).reshape({count, 28 * 28});
  return set;
}

// Trained from scratch the classifier separates the classes (chance is 10%; an update that does not
// reach the weights stays near it); the stored file gives back the same network, and one trained on
// another budget is refused.
TEST(FeatureClassifier, LearnsSeparableClassesAndIsStoredForReuse) {
  const data::LabelledImages train = patch_images(1024, 1), test = patch_images(500, 2);
  const auto path =
      std::filesystem::temp_directory_path() /
      ("tilt_classifier_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".h5");
  std::filesystem::remove(path);
  LocalCommunicator comm;
  const FeatureClassifier trained = FeatureClassifier::obtain(path, train, test, 3, comm, false);
  EXPECT_GT(trained.test_accuracy(), 0.95);
  ASSERT_TRUE(std::filesystem::exists(path));

  const FeatureClassifier read = FeatureClassifier::obtain(path, train, test, 3, comm, false);
  EXPECT_EQ(read.test_accuracy(), trained.test_accuracy());
  EXPECT_TRUE(torch::equal(read.features(test.images), trained.features(test.images)));
  EXPECT_THROW(FeatureClassifier::obtain(path, train, test, 2, comm, false), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tilt::dxmi
