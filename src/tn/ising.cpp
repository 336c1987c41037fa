#include "tn/ising.h"

#include <torch/torch.h>

#include "core/error.h"

namespace tilt::tn {
namespace {

// Spins as [B, lx, ly] float64.
at::Tensor spins(const IsingCylinder& lattice, const at::Tensor& x) {
  return (2 * x - 1).to(torch::kFloat64).view({x.size(0), lattice.lx, lattice.ly});
}

// The sum of each site's neighbours' spins, [B, lx, ly]: periodic in y, open in x.
at::Tensor neighbour_sums(const at::Tensor& s) {
  at::Tensor sum = s.roll(1, 2) + s.roll(-1, 2);
  const int64_t lx = s.size(1);
  if (lx > 1) {
    sum.narrow(1, 1, lx - 1).add_(s.narrow(1, 0, lx - 1));
    sum.narrow(1, 0, lx - 1).add_(s.narrow(1, 1, lx - 1));
  }
  return sum;
}

}  // namespace

at::Tensor ising_energy(const IsingCylinder& lattice, const at::Tensor& x) {
  if (x.dim() != 2 || x.size(1) != lattice.sites())
    throw Error("ising: configurations must be [B, " + std::to_string(lattice.sites()) + "]");
  const at::Tensor s = spins(lattice, x);
  // Each bond once: half the sum over sites of s_i times its neighbours.
  return -0.5 * (s * neighbour_sums(s)).sum({1, 2});
}

at::Tensor magnetisation(const at::Tensor& x) { return (2 * x - 1).to(torch::kFloat64).mean(1); }

void metropolis_sweeps(const IsingCylinder& lattice, at::Tensor& x, int sweeps, const CounterRng& rng,
                       uint32_t draw, int64_t row_begin) {
  if (lattice.ly % 2 != 0 && lattice.ly > 1)
    throw Error("ising: local Metropolis needs an even ly (the checkerboard around the cylinder)");
  const int64_t chains = x.size(0);
  const at::Tensor column = torch::arange(lattice.lx).unsqueeze(1),
                   row = torch::arange(lattice.ly).unsqueeze(0);
  const at::Tensor colour = ((column + row) % 2).unsqueeze(0);  // [1, lx, ly]
  for (int sweep = 0; sweep < sweeps; ++sweep)
    for (int64_t c = 0; c < 2; ++c) {
      at::Tensor s = spins(lattice, x);
      const at::Tensor delta = 2 * s * neighbour_sums(s);  // E after the flip minus before
      const at::Tensor u = rng.uniform(RngStream::kTensorNetwork, draw + static_cast<uint32_t>(sweep),
                                       static_cast<uint32_t>(3 + c), row_begin, chains, lattice.sites())
                               .to(torch::kFloat64)
                               .view_as(delta);
      const at::Tensor flip = (u <= torch::exp(-lattice.beta * delta)).logical_and(colour == c);
      x = torch::where(flip.view({chains, -1}), 1 - x, x);
    }
}

IsingThermodynamics exact_thermodynamics(const IsingCylinder& lattice) {
  const int ly = lattice.ly;
  if (ly < 3 || ly > 20 || lattice.lx < 1)
    throw Error("ising: the transfer matrix needs 3 <= ly <= 20 and lx >= 1 (2^ly column states)");
  torch::AutoGradMode grad(true);
  const at::Tensor beta = torch::tensor(lattice.beta, torch::dtype(torch::kFloat64).requires_grad(true));
  // Column state r: spin j is bit j of r.
  const at::Tensor bits = torch::bitwise_and(
      torch::bitwise_right_shift(torch::arange(int64_t{1} << ly, torch::kInt64).unsqueeze(1),
                                 torch::arange(ly, torch::kInt64).unsqueeze(0)),
      1);
  const at::Tensor s = (2 * bits - 1).to(torch::kFloat64);
  const at::Tensor column_weight = torch::exp(beta * (s * s.roll(1, 1)).sum(1));  // e^{-beta E_column}
  const at::Tensor same = torch::exp(beta), flipped = torch::exp(-beta);
  const at::Tensor bond_kernel = torch::stack({torch::stack({same, flipped}), torch::stack({flipped, same})});
  at::Tensor v = column_weight, log_z = torch::zeros({}, torch::kFloat64);
  for (int column = 1; column < lattice.lx; ++column) {
    const at::Tensor scale = v.sum();
    log_z = log_z + torch::log(scale);
    v = v / scale;
    // sum_r prod_j e^{beta s_j(r) s_j(r')} v(r): the 2 x 2 bond kernel along each spin's axis.
    for (int j = 0; j < ly; ++j)
      v = torch::einsum("ab,xbz->xaz",
                        {bond_kernel, v.view({int64_t{1} << (ly - 1 - j), 2, int64_t{1} << j})})
              .reshape({-1});
    v = v * column_weight;
  }
  log_z = log_z + torch::log(v.sum());
  const at::Tensor d_log_z = torch::autograd::grad({log_z}, {beta})[0];
  const double n = lattice.sites(), energy = -d_log_z.item<double>();
  return {log_z.item<double>(), energy / n, (log_z.item<double>() + lattice.beta * energy) / n};
}

}  // namespace tilt::tn
