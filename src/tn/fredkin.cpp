#include "tn/fredkin.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace tilt::tn {

Mps fredkin_mps(int sites, double c) {
  if (sites < 2 || sites % 2 != 0) throw Error("fredkin: the number of sites must be even and >= 2");
  if (!(c > 0 && c < 1)) throw Error("fredkin: c must be in (0, 1)");
  const double q = c / (1 - c);
  // The largest entry is q^{(max height) / 2}, max height N / 2: it must stay a finite double.
  if (q > 1 && sites / 4.0 * std::log(q) > 700)
    throw Error("fredkin: q^(N/4) overflows a double at N = " + std::to_string(sites) +
                ", c = " + std::to_string(c) + " (N at most " +
                std::to_string(static_cast<int>(2800 / std::log(q))) + ")");
  const auto bond = [sites](int i) { return std::min(i, sites - i) + 1; };
  std::vector<at::Tensor> tensors;
  for (int i = 1; i <= sites; ++i) {
    const int64_t left = bond(i - 1), right = bond(i);
    at::Tensor t = torch::zeros({left, 2, right}, torch::kFloat64);
    auto a = t.accessor<double, 3>();
    for (int64_t h = 0; h < left; ++h) {
      if (h + 1 < right) a[h][1][h + 1] = std::pow(q, (h + 1) / 2.0);
      if (h >= 1 && h - 1 < right) a[h][0][h - 1] = std::pow(q, (h - 1) / 2.0);
    }
    tensors.push_back(t);
  }
  return Mps(std::move(tensors));
}

at::Tensor heights(const at::Tensor& x) { return (2 * x - 1).cumsum(1); }

at::Tensor is_dyck_path(const at::Tensor& x) {
  const at::Tensor h = heights(x);
  return (h.amin(1) >= 0).logical_and(h.select(1, h.size(1) - 1) == 0);
}

}  // namespace tilt::tn
