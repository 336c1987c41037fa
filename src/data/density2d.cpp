#include "data/density2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace tilt::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

class EightGaussians final : public Density2d {
 public:
  static constexpr int kModes = 8;
  int modes() const override { return kModes; }
  EightGaussians() {
    std::vector<double> coordinates;
    for (int k = 0; k < kModes; ++k) {
      coordinates.push_back(2 * std::sqrt(2.0) * std::cos(k * kPi / 4));
      coordinates.push_back(2 * std::sqrt(2.0) * std::sin(k * kPi / 4));
    }
    means_ = torch::tensor(coordinates, torch::kFloat64).view({kModes, 2});
  }
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const override {
    const at::Tensor u = rng.uniform(RngStream::kDxmiData, draw, 0, row_begin, rows, 1).to(torch::kFloat64);
    const at::Tensor z = rng.normal(RngStream::kDxmiData, draw, 1, row_begin, rows, 2).to(torch::kFloat64);
    const at::Tensor component = (u.squeeze(1) * kModes).floor().clamp_max(kModes - 1).to(torch::kInt64);
    return (means_.index_select(0, component) + std::sqrt(kVariance) * z).to(torch::kFloat32);
  }
  at::Tensor log_density(const at::Tensor& x) const override {
    const at::Tensor d2 =
        (x.to(torch::kFloat64).unsqueeze(1) - means_.unsqueeze(0)).square().sum(2);  // [N, 8]
    return torch::logsumexp(-0.5 * d2 / kVariance, 1) - std::log(kModes * 2 * kPi * kVariance);
  }
  at::Tensor mode_of(const at::Tensor& x) const override {
    return (x.to(torch::kFloat64).unsqueeze(1) - means_.unsqueeze(0)).square().sum(2).argmin(1);
  }

 private:
  static constexpr double kVariance = 0.125;  // (0.5 / sqrt 2)^2
  at::Tensor means_;
};

class Checkerboard final : public Density2d {
 public:
  int modes() const override { return 8; }
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const override {
    const at::Tensor u = rng.uniform(RngStream::kDxmiData, draw, 0, row_begin, rows, 3).to(torch::kFloat64);
    // BNAF's construction: x in [-2, 2), y in [0, 1) or [-2, -1), shifted up by one in odd columns.
    const at::Tensor x = 4 * u.select(1, 0) - 2;
    const at::Tensor y =
        u.select(1, 1) - 2 * (u.select(1, 2) < 0.5).to(torch::kFloat64) + at::remainder(x.floor(), 2.0);
    return (2 * torch::stack({x, y}, 1)).to(torch::kFloat32);
  }
  at::Tensor log_density(const at::Tensor& x) const override {
    const at::Tensor inside = on_support(x.to(torch::kFloat64));
    return torch::where(inside, torch::full_like(inside, -std::log(32.0), torch::kFloat64),
                        torch::full_like(inside, -INFINITY, torch::kFloat64));
  }
  at::Tensor mode_of(const at::Tensor& x) const override {
    const at::Tensor cells = (x.to(torch::kFloat64) / 2).floor() + 2;  // 0..3 inside the box
    // The 8 support cells numbered 0..7 by column, then by row within the column.
    const at::Tensor index = (cells.select(1, 0) * 2 + (cells.select(1, 1) / 2).floor()).to(torch::kInt64);
    return torch::where(on_support(x.to(torch::kFloat64)), index, torch::full_like(index, -1));
  }

 private:
  static at::Tensor on_support(const at::Tensor& x) {
    const at::Tensor cells = (x / 2).floor();
    const at::Tensor in_box = (x.abs() < 4).all(1);
    return in_box & (at::remainder(cells.sum(1), 2.0) == 0);
  }
};

class TwoSpirals final : public Density2d {
 public:
  TwoSpirals() {
    const at::Tensor theta = (torch::arange(kPoints, torch::kFloat64) + 0.5) * (kTurn / kPoints);
    const at::Tensor arm = torch::stack({-theta.cos(), theta.sin()}, 1) * theta.unsqueeze(1) / 3;
    points_ = torch::cat({arm, -arm});
    // log of 1/2 (arm) x 2 theta / (3 pi)^2 dtheta (the midpoint rule) x the Gaussian's normaliser.
    const at::Tensor weight = (2 * theta / (kTurn * kTurn) * (kTurn / kPoints) / 2).log();
    log_weights_ = torch::cat({weight, weight}) - std::log(2 * kPi * kNoise * kNoise);
  }
  int modes() const override { return 2; }
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const override {
    const at::Tensor u = rng.uniform(RngStream::kDxmiData, draw, 0, row_begin, rows, 2).to(torch::kFloat64);
    const at::Tensor z = rng.normal(RngStream::kDxmiData, draw, 1, row_begin, rows, 2).to(torch::kFloat64);
    const at::Tensor theta = kTurn * u.select(1, 0).sqrt();
    const at::Tensor sign = torch::where(u.select(1, 1) < 0.5, 1.0, -1.0).unsqueeze(1);
    const at::Tensor centre = sign * torch::stack({-theta.cos(), theta.sin()}, 1) * theta.unsqueeze(1) / 3;
    return (centre + kNoise * z).to(torch::kFloat32);
  }
  at::Tensor log_density(const at::Tensor& x) const override {
    return by_chunks(x, [&](const at::Tensor& d2) {
      return torch::logsumexp(log_weights_.unsqueeze(0) - 0.5 * d2 / (kNoise * kNoise), 1);
    });
  }
  at::Tensor mode_of(const at::Tensor& x) const override {
    return by_chunks(x, [&](const at::Tensor& d2) {
      const auto [nearest, index] = d2.min(1);
      const at::Tensor arm = (index >= kPoints).to(torch::kInt64);
      return torch::where(nearest <= 16 * kNoise * kNoise, arm, torch::full_like(arm, -1));
    });
  }

 private:
  static constexpr int64_t kPoints = 1000;  // quadrature points an arm
  static constexpr double kTurn = 3 * kPi;
  static constexpr double kNoise = 0.15;
  static constexpr int64_t kChunk = 4096;

  // f(squared distances [rows, 2 kPoints]) over row chunks of x (bounded memory on big grids).
  template <typename F>
  at::Tensor by_chunks(const at::Tensor& x, F f) const {
    const at::Tensor rows = x.to(torch::kFloat64);
    std::vector<at::Tensor> parts;
    for (int64_t begin = 0; begin < rows.size(0); begin += kChunk) {
      const at::Tensor chunk = rows.narrow(0, begin, std::min(kChunk, rows.size(0) - begin));
      parts.push_back(f((chunk.unsqueeze(1) - points_.unsqueeze(0)).square().sum(2)));
    }
    return torch::cat(parts);
  }

  at::Tensor points_, log_weights_;
};

}  // namespace

std::unique_ptr<Density2d> make_density2d(const std::string& name) {
  if (name == "8gaussians") return std::make_unique<EightGaussians>();
  if (name == "checkerboard") return std::make_unique<Checkerboard>();
  if (name == "2spirals") return std::make_unique<TwoSpirals>();
  throw Error("config: 'data.name': unknown 2-D data set '" + name +
              "' (choose 8gaussians, checkerboard or 2spirals)");
}

}  // namespace tilt::data
