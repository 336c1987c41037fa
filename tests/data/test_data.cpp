// The IDX reader against files written here (plain and gzip; truncated, corrupt, mislabelled), the
// Fashion-MNIST set Debian ships, the sharded loader's cover of each epoch, the 2-D densities'
// exact samples and normalisation, and dequantised logit images' bits per dimension against the
// exact code length of a known pixel distribution.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "data/density2d.h"
#include "data/idx_file.h"
#include "data/image_set.h"
#include "data/logit_images.h"
#include "data/sharded_loader.h"
#include "test_helpers.h"

namespace tilt::data {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("tilt_data_" + std::to_string(::getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

using test_support::idx_bytes;

void write_gzip(const fs::path& path, const std::vector<unsigned char>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(file);
}

std::vector<unsigned char> counting(int n) {
  std::vector<unsigned char> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<unsigned char>((7 * i) % 256);
  return v;
}

void expect_error(const fs::path& path, const std::string& phrase) {
  try {
    read_idx(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(phrase), std::string::npos) << message;
    EXPECT_NE(message.find(path.filename().string()), std::string::npos) << message;
  }
}

TEST(IdxFile, ReadsPlainAndGzipFilesWithTheirShapes) {
  TempDir dir;
  const auto bytes = idx_bytes({3, 4, 5}, counting(60));
  test_support::write_bytes(dir.path / "a-idx3-ubyte", bytes);
  write_gzip(dir.path / "b-idx3-ubyte.gz", bytes);
  for (const char* name : {"a-idx3-ubyte", "b-idx3-ubyte.gz"}) {
    const at::Tensor t = read_idx(dir.path / name);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 4, 5})) << name;
    EXPECT_EQ(t[2][3][4].item<int>(), (7 * 59) % 256) << name;
    EXPECT_EQ(t[1][0][2].item<int>(), (7 * 22) % 256) << name;
  }
}

TEST(IdxFile, BadFilesGiveErrorsNamingThem) {
  TempDir dir;
  expect_error(dir.path / "missing-idx1-ubyte", "cannot be opened");
  auto truncated = idx_bytes({10, 4}, counting(40));
  truncated.resize(truncated.size() - 7);
  test_support::write_bytes(dir.path / "truncated", truncated);
  expect_error(dir.path / "truncated", "truncated");
  write_gzip(dir.path / "truncated.gz", truncated);
  expect_error(dir.path / "truncated.gz", "truncated");
  test_support::write_bytes(dir.path / "short-header", {0, 0, 8, 3, 0, 0});
  expect_error(dir.path / "short-header", "truncated");
  auto magic = idx_bytes({4}, counting(4));
  magic[0] = 0x1f;
  magic[1] = 0x00;
  test_support::write_bytes(dir.path / "magic", magic);
  expect_error(dir.path / "magic", "magic");
  auto floats = idx_bytes({4}, counting(4));
  floats[2] = 0x0d;
  test_support::write_bytes(dir.path / "floats", floats);
  expect_error(dir.path / "floats", "only unsigned bytes");
  auto longer = idx_bytes({4}, counting(5));
  test_support::write_bytes(dir.path / "longer", longer);
  expect_error(dir.path / "longer", "past the 4 values");
  // A gzip stream whose compressed bytes were damaged: zlib's checks refuse it.
  const std::string gz = (dir.path / "corrupt.gz").string();
  write_gzip(gz, idx_bytes({50, 20}, counting(1000)));
  std::vector<char> raw(fs::file_size(gz));
  std::ifstream(gz, std::ios::binary).read(raw.data(), static_cast<std::streamsize>(raw.size()));
  for (size_t i = 20; i + 10 < raw.size(); i += 3) raw[i] = static_cast<char>(raw[i] ^ 0x5a);
  std::ofstream(gz, std::ios::binary).write(raw.data(), static_cast<std::streamsize>(raw.size()));
  EXPECT_THROW(read_idx(gz), Error);
}

TEST(ImageSet, PairsImagesWithLabelsAndRefusesMismatches) {
  TempDir dir;
  write_gzip(dir.path / "train-images-idx3-ubyte.gz",
             idx_bytes({3, 2, 2}, {0, 255, 0, 255, 1, 2, 3, 4, 5, 6, 7, 8}));
  test_support::write_bytes(dir.path / "train-labels-idx1-ubyte", idx_bytes({3}, {4, 0, 9}));
  const LabelledImages set = load_mnist_like(dir.path, "train");
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_FLOAT_EQ(set.images[0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(set.images[0][1].item<float>(), 1.0f);
  EXPECT_EQ(set.labels[2].item<int64_t>(), 9);
  EXPECT_TRUE(torch::equal(to_pixels(set.images, 2, 2).reshape({3, 4}).to(torch::kInt64),
                           torch::tensor({0, 255, 0, 255, 1, 2, 3, 4, 5, 6, 7, 8}).reshape({3, 4})));
  EXPECT_EQ(select_class(set, 0).size(), 1);

  test_support::write_bytes(dir.path / "t10k-images-idx3-ubyte", idx_bytes({3, 2, 2}, counting(12)));
  test_support::write_bytes(dir.path / "t10k-labels-idx1-ubyte", idx_bytes({2}, {1, 2}));
  EXPECT_THROW(load_mnist_like(dir.path, "t10k"), Error);
  test_support::write_bytes(dir.path / "t10k-labels-idx1-ubyte", idx_bytes({3}, {1, 2, 10}));
  EXPECT_THROW(load_mnist_like(dir.path, "t10k"), Error);
  EXPECT_THROW(load_mnist_like(dir.path / "nowhere", "train"), Error);
  EXPECT_THROW(load_mnist_like(dir.path, "valid"), Error);
}

// The set launch/setup.sh installs (Debian's dataset-fashion-mnist): 60000 + 10000 images of 28 x 28,
// 6000 + 1000 of each class.
TEST(ImageSet, ReadsDebiansFashionMnist) {
  const fs::path directory = "/usr/share/datasets/fashion-mnist";
  const LabelledImages train = load_mnist_like(directory, "train");
  const LabelledImages test = load_mnist_like(directory, "t10k");
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.height, 28);
  EXPECT_EQ(train.width, 28);
  EXPECT_TRUE(torch::equal(train.labels.bincount(), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(test.labels.bincount(), torch::full({10}, 1000, torch::kInt64)));
  EXPECT_GE(train.images.min().item<float>(), -1.0f);
  EXPECT_LE(train.images.max().item<float>(), 1.0f);
}

// Each epoch: the ranks' rows never overlap and cover floor(N / B) B examples; every rank count
// reads the same global batches as one rank; a new epoch is a new order; the seed fixes it.
TEST(ShardedLoader, EachEpochIsCoveredOnceWhateverTheRankCount) {
  const int64_t examples = 103, batch = 10;
  const ShardedLoader one(examples, batch, 7, 0, 1);
  ASSERT_EQ(one.batches_per_epoch(), 10);
  for (int ranks : {1, 2, 3}) {
    std::vector<ShardedLoader> loaders;
    for (int r = 0; r < ranks; ++r) loaders.emplace_back(examples, batch, 7, r, ranks);
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      std::set<int64_t> seen;
      for (int64_t b = epoch * 10; b < (epoch + 1) * 10; ++b) {
        std::vector<at::Tensor> parts;
        for (const auto& loader : loaders) parts.push_back(loader.indices(b));
        const at::Tensor global = torch::cat(parts);
        EXPECT_TRUE(torch::equal(global, one.indices(b))) << ranks << " ranks, batch " << b;
        for (int64_t i = 0; i < global.size(0); ++i) seen.insert(global[i].item<int64_t>());
      }
      EXPECT_EQ(seen.size(), 100u) << ranks << " ranks, epoch " << epoch;
      EXPECT_GE(*seen.begin(), 0);
      EXPECT_LT(*seen.rbegin(), examples);
    }
  }
  EXPECT_FALSE(torch::equal(one.permutation(0), one.permutation(1)));
  EXPECT_TRUE(torch::equal(one.permutation(1), ShardedLoader(examples, batch, 7, 0, 1).permutation(1)));
  EXPECT_FALSE(torch::equal(one.permutation(1), ShardedLoader(examples, batch, 8, 0, 1).permutation(1)));
  EXPECT_TRUE(torch::equal(std::get<0>(one.permutation(2).sort()), torch::arange(examples)));
  EXPECT_THROW(ShardedLoader(5, 10, 0, 0, 1), Error);
  EXPECT_THROW(ShardedLoader(100, 1, 0, 0, 2), Error);
}

// Exact samples land on the modes in equal shares (4 standard errors; 2spirals: within 4 noise
// stds of the arm but for the Gaussian tail beyond, exp(-8) = 3.4e-4), and the log-density
// integrates to 1 on a grid.
TEST(Density2d, SamplesAndDensitiesAreExact) {
  const CounterRng rng(3);
  for (const char* name : {"8gaussians", "checkerboard", "2spirals"}) {
    const auto density = make_density2d(name);
    const int64_t n = 20000;
    const at::Tensor x = density->sample(rng, 0, 0, n);
    const at::Tensor mode = density->mode_of(x);
    EXPECT_LE((mode < 0).sum().item<int64_t>(), std::string(name) == "2spirals" ? 20 : 0) << name;
    const double share = 1.0 / density->modes(), error = 4 * std::sqrt(share * (1 - share) / n);
    for (int k = 0; k < density->modes(); ++k)
      EXPECT_NEAR((mode == k).sum().item<double>() / n, share, error) << name << " mode " << k;
    // The spirals' density sums 2000 Gaussians a point: a smaller grid, fine enough (cell 0.04 against
    // their std 0.15) and wide enough (radius pi + 9 stds inside).
    const bool spirals = std::string(name) == "2spirals";
    const int64_t side = spirals ? 225 : 600;
    const double edge = spirals ? 4.5 : 6.0, cell = 2 * edge / side;
    const at::Tensor axis = torch::linspace(-edge + cell / 2, edge - cell / 2, side, torch::kFloat64);
    const std::vector<at::Tensor> mesh = torch::meshgrid({axis, axis}, "ij");
    const at::Tensor grid = torch::stack({mesh[0].reshape(-1), mesh[1].reshape(-1)}, 1).to(torch::kFloat32);
    EXPECT_NEAR(density->log_density(grid).exp().sum().item<double>() * cell * cell, 1.0, 2e-3) << name;
  }
  EXPECT_THROW(make_density2d("moons"), Error);
}

// Dequantisation puts v = (pixel + u) / 256 in the pixel's bin; the logit's log-determinant equals
// autograd's; the inverse returns 2 v - 1.
TEST(LogitImages, DequantisationLogitAndItsLogDeterminant) {
  torch::manual_seed(4);
  const at::Tensor pixels = torch::randint(0, 256, {6, 50}, torch::kInt64);
  const at::Tensor uniforms = torch::rand({6, 50}, torch::kFloat64);
  const LogitImages y = dequantised_logits(pixels, uniforms);
  const at::Tensor v = (pixels.to(torch::kFloat64) + uniforms) / 256;
  EXPECT_TRUE(torch::equal((v * 256).floor().to(torch::kInt64), pixels));
  EXPECT_LT((images_from_logits(y.values).to(torch::kFloat64) - (2 * v - 1)).abs().max().item<double>(),
            1e-5);
  const at::Tensor leaf = v.clone().requires_grad_(true);
  const at::Tensor s = kLogitAlpha + (1 - 2 * kLogitAlpha) * leaf;
  (torch::log(s) - torch::log1p(-s)).sum().backward();  // elementwise: the gradient is dy/dv
  EXPECT_LT((leaf.grad().log().sum(1) - y.log_det).abs().max().item<double>(), 1e-9);
}

// Pixels with the known distribution P(p) = F((p + 1) / 256) - F(p / 256), F(v) = (v + v^2) / 2 (the
// density 1/2 + v on [0, 1]): bits per dimension from that density written in logit space (its own
// change of variables, dv/dy = sigmoid'(y) / (1 - 2 alpha)) equal the exact code length -log2 P per
// pixel, up to Jensen's gap within a bin (~(1/256)^2 / 12 nats: 1e-6) and Monte Carlo error over the
// noise (smaller still); tolerance 1e-4 bits.
TEST(LogitImages, BitsPerDimensionEqualTheExactCodeLength) {
  const at::Tensor pixels = torch::arange(256, torch::kFloat64).unsqueeze(0).expand({400, 256});
  const CounterRng rng(9);
  const LogitImages y = dequantised_logits(pixels, rng.uniform(RngStream::kEvaluation, 0, 0, 0, 400, 256));
  const at::Tensor sigma = torch::sigmoid(y.values.to(torch::kFloat64));
  const at::Tensor v = (sigma - kLogitAlpha) / (1 - 2 * kLogitAlpha);
  const at::Tensor log_p_y =
      (torch::log(0.5 + v) + torch::log(sigma * (1 - sigma) / (1 - 2 * kLogitAlpha))).sum(1);
  const double bpd = bits_per_dim(log_p_y, y.log_det, 256).mean().item<double>();
  const auto cdf = [](double x) { return 0.5 * (x + x * x); };
  double exact = 0;
  for (int p = 0; p < 256; ++p) exact -= std::log2(cdf((p + 1) / 256.0) - cdf(p / 256.0)) / 256;
  EXPECT_NEAR(bpd, exact, 1e-4);
  EXPECT_GT(exact, 8.0);  // every pixel value once, coded with a non-uniform P: above 8 bits
}

}  // namespace
}  // namespace tilt::data
