#include "tn/monte_carlo.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "tn/jump_noise.h"

namespace tilt::tn {
namespace {

constexpr uint32_t kAcceptStep = 5;  // the MH acceptance uniforms (steps 0-2: sampling and noise)
constexpr uint32_t kWolffStep = 7;   // a cluster's seed and bond uniforms (3-4: Metropolis, 6: starts)

ChainTrace empty_trace(int steps, int64_t chains) {
  return {torch::empty({steps, chains}, torch::kFloat64), torch::empty({steps, chains}, torch::kFloat64)};
}

void record(ChainTrace& trace, int step, const IsingCylinder& lattice, const at::Tensor& energy,
            const at::Tensor& x) {
  trace.energy_per_site[step].copy_(energy / lattice.sites());
  trace.abs_magnetisation[step].copy_(magnetisation(x).abs());
}

}  // namespace

ChainTrace mps_metropolis_hastings(const IsingCylinder& lattice, const Mps& proposal, at::Tensor& x,
                                   int steps, std::optional<double> gamma_t, const CounterRng& rng,
                                   uint32_t draw, int64_t row_begin) {
  torch::NoGradGuard no_grad;
  const int64_t chains = x.size(0);
  const std::optional<at::Tensor> kernel =
      gamma_t ? std::optional<at::Tensor>(uniform_jump_kernel(proposal.states(), *gamma_t)) : std::nullopt;
  ChainTrace trace = empty_trace(steps, chains);
  at::Tensor energy = ising_energy(lattice, x), log_q = proposal.log_prob(x);
  for (int step = 0; step < steps; ++step) {
    const uint32_t d = draw + static_cast<uint32_t>(step);
    const at::Tensor candidate =
        kernel ? denoise(proposal, add_noise(x, *kernel, rng, d, row_begin), *kernel, rng, d, row_begin)
               : proposal.sample(rng, d, row_begin, chains);
    const at::Tensor candidate_energy = ising_energy(lattice, candidate);
    const at::Tensor candidate_log_q = proposal.log_prob(candidate);
    const at::Tensor log_ratio = -lattice.beta * (candidate_energy - energy) + log_q - candidate_log_q;
    const at::Tensor u =
        rng.uniform(RngStream::kTensorNetwork, d, kAcceptStep, row_begin, chains, 1).squeeze(1);
    const at::Tensor accept = torch::log(u.to(torch::kFloat64)) < log_ratio;
    x = torch::where(accept.unsqueeze(1), candidate, x);
    energy = torch::where(accept, candidate_energy, energy);
    log_q = torch::where(accept, candidate_log_q, log_q);
    trace.accepted += accept.sum().item<int64_t>();
    trace.proposed += chains;
    record(trace, step, lattice, energy, x);
  }
  return trace;
}

ChainTrace local_metropolis(const IsingCylinder& lattice, at::Tensor& x, int steps, const CounterRng& rng,
                            uint32_t draw, int64_t row_begin) {
  ChainTrace trace = empty_trace(steps, x.size(0));
  for (int step = 0; step < steps; ++step) {
    const at::Tensor before = x;
    metropolis_sweeps(lattice, x, 1, rng, draw + static_cast<uint32_t>(step), row_begin);
    trace.accepted += (x != before).sum().item<int64_t>();
    trace.proposed += x.numel();
    record(trace, step, lattice, ising_energy(lattice, x), x);
  }
  return trace;
}

ChainTrace wolff(const IsingCylinder& lattice, at::Tensor& x, int steps, const CounterRng& rng, uint32_t draw,
                 int64_t row_begin) {
  const int64_t chains = x.size(0), n = lattice.sites();
  const double join = 1 - std::exp(-2 * lattice.beta);
  ChainTrace trace = empty_trace(steps, chains);
  x = x.contiguous();
  auto spins = x.accessor<int64_t, 2>();
  // Site i = column * ly + row; bond 2i links i to the next row around the cylinder, bond 2i + 1 to
  // the next column (none at the last column).
  std::vector<int64_t> stack;
  std::vector<char> in_cluster(static_cast<size_t>(n));
  for (int step = 0; step < steps; ++step) {
    const at::Tensor u = rng.uniform(RngStream::kTensorNetwork, draw + static_cast<uint32_t>(step),
                                     kWolffStep, row_begin, chains, 1 + 2 * n);
    const auto uniforms = u.accessor<float, 2>();
    for (int64_t c = 0; c < chains; ++c) {
      std::fill(in_cluster.begin(), in_cluster.end(), 0);
      const int64_t seed = std::min(n - 1, static_cast<int64_t>(uniforms[c][0] * static_cast<float>(n)));
      const int64_t spin = spins[c][seed];
      in_cluster[static_cast<size_t>(seed)] = 1;
      stack.assign(1, seed);
      int64_t size = 0;
      while (!stack.empty()) {
        const int64_t i = stack.back();
        stack.pop_back();
        spins[c][i] = 1 - spin;
        ++size;
        const int64_t column = i / lattice.ly, row = i % lattice.ly;
        const auto try_join = [&](int64_t j, int64_t bond) {
          if (in_cluster[static_cast<size_t>(j)] || spins[c][j] != spin || uniforms[c][1 + bond] > join)
            return;
          in_cluster[static_cast<size_t>(j)] = 1;
          stack.push_back(j);
        };
        const int64_t up = column * lattice.ly + (row + 1) % lattice.ly,
                      down = column * lattice.ly + (row + lattice.ly - 1) % lattice.ly;
        try_join(up, 2 * i);
        try_join(down, 2 * down);
        if (column + 1 < lattice.lx) try_join(i + lattice.ly, 2 * i + 1);
        if (column > 0) try_join(i - lattice.ly, 2 * (i - lattice.ly) + 1);
      }
      trace.accepted += size;
    }
    trace.proposed += chains * n;
    record(trace, step, lattice, ising_energy(lattice, x), x);
  }
  return trace;
}

double integrated_autocorrelation_time(const at::Tensor& trace) {
  const at::Tensor centred = trace - trace.mean();
  const int64_t steps = trace.size(0);
  const double variance = centred.square().mean().item<double>();
  if (variance <= 0) return 1.0;
  double tau = 1.0;
  for (int64_t lag = 1; lag < steps; ++lag) {
    const double rho =
        (centred.narrow(0, 0, steps - lag) * centred.narrow(0, lag, steps - lag)).mean().item<double>() /
        variance;
    tau += 2 * rho;
    if (static_cast<double>(lag) >= 5 * tau) break;
  }
  return tau;
}

}  // namespace tilt::tn
