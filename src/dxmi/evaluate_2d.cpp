#include "dxmi/evaluate_2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace tilt::dxmi {
namespace {

constexpr int64_t kGridSide = 64;
constexpr double kGridEdge = 4.0;  // the box of both data sets: 8gaussians reaches +-3.2 (3 std)
constexpr double kSupportDrop = 5.0;

// Mean ranks (1-based) of v's entries, ties sharing their mean rank.
at::Tensor ranks(const at::Tensor& v) {
  const at::Tensor x = v.to(torch::kFloat64).contiguous();
  const int64_t n = x.numel();
  const at::Tensor order = x.argsort().contiguous();
  const double* values = x.data_ptr<double>();
  const int64_t* index = order.data_ptr<int64_t>();
  at::Tensor out = torch::empty({n}, torch::kFloat64);
  double* rank = out.data_ptr<double>();
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && values[index[j + 1]] == values[index[i]]) ++j;
    for (int64_t k = i; k <= j; ++k) rank[index[k]] = 0.5 * (i + j) + 1;
    i = j + 1;
  }
  return out;
}

}  // namespace

double spearman(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ra = ranks(a) - ranks(a).mean(), rb = ranks(b) - ranks(b).mean();
  return ((ra * rb).sum() / (ra.square().sum() * rb.square().sum()).sqrt()).item<double>();
}

Metrics evaluate_energy(const Dxmi& dxmi, const data::Density2d& density) {
  torch::NoGradGuard no_grad;
  const at::Tensor axis = torch::linspace(-kGridEdge, kGridEdge, kGridSide, torch::kFloat32);
  const std::vector<at::Tensor> mesh = torch::meshgrid({axis, axis}, "ij");
  const at::Tensor grid = torch::stack({mesh[0].reshape(-1), mesh[1].reshape(-1)}, 1);
  const at::Tensor log_density = density.log_density(grid);
  const at::Tensor score = -dxmi.energy(grid).to(torch::kFloat64);
  // The support: where the density is within e^kSupportDrop of its peak.
  const at::Tensor support = log_density >= log_density.max() - kSupportDrop;
  const at::Tensor on = score.masked_select(support), off = score.masked_select(support.logical_not());
  // Spearman needs the density to vary on the support (checkerboard's is flat: no value).
  const at::Tensor support_log_density = log_density.masked_select(support);
  const bool varies = (support_log_density.max() - support_log_density.min()).item<double>() > 0;
  return {{"spearman_neg_energy_log_density", spearman(score, log_density.clamp_min(-1e300))},
          {"spearman_on_support", varies ? spearman(on, support_log_density) : std::nan("")},
          {"auroc_support", auroc(on, off)}};
}

double auroc(const at::Tensor& positive, const at::Tensor& negative) {
  const int64_t p = positive.numel(), n = negative.numel();
  if (p == 0 || n == 0) return std::nan("");
  const at::Tensor rank = ranks(torch::cat({positive.to(torch::kFloat64), negative.to(torch::kFloat64)}));
  return (rank.narrow(0, 0, p).sum().item<double>() - 0.5 * p * (p + 1)) / (static_cast<double>(p) * n);
}

}  // namespace tilt::dxmi
