// Tensor networks against exact enumeration: the Fredkin chain's MPS against its Boltzmann weights
// over every configuration, log Z against the Catalan numbers at N = 1000, samples against the
// exact distribution (chi-square), heights' marginals, jump noise's kernel and the noised MPS,
// exact denoising (every sample a Dyck path; the posterior against enumeration), and the
// connected Metropolis-Hastings proposal's detailed balance; on the 4 x 4 Ising cylinder, every
// Monte Carlo scheme's states against the exact energy distribution, the learned MPS's KL to the
// exact distribution, and the autocorrelation time against an AR(1) process's.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "test_helpers.h"
#include "tn/fredkin.h"
#include "tn/ising.h"
#include "tn/jump_noise.h"
#include "tn/learned_mps.h"
#include "tn/monte_carlo.h"
#include "tn/mps.h"
#include "tn/tn_config.h"
#include "tn/train_tn.h"

namespace tilt::tn {
namespace {

// Every configuration of N binary sites, int64 [2^N, N] (row r = r's bits, site 0 the highest).
at::Tensor all_configurations(int sites) {
  const at::Tensor r = torch::arange(int64_t{1} << sites, torch::kInt64).unsqueeze(1);
  const at::Tensor shifts = torch::arange(sites - 1, -1, -1, torch::kInt64).unsqueeze(0);
  return torch::bitwise_and(torch::bitwise_right_shift(r, shifts), 1);
}

// The Fredkin weights by their definition: q^{area / 2} on Dyck paths, float64 [2^N]; normalised: the
// equilibrium.
at::Tensor fredkin_weights(int sites, double c) {
  const at::Tensor x = all_configurations(sites);
  return torch::pow(c / (1 - c), heights(x).sum(1).to(torch::kFloat64) / 2) *
         is_dyck_path(x).to(torch::kFloat64);
}
at::Tensor fredkin_exact(int sites, double c) {
  const at::Tensor weight = fredkin_weights(sites, c);
  return weight / weight.sum();
}

// The index of each row as a binary number (the enumeration's order).
at::Tensor row_index(const at::Tensor& x) {
  const int64_t n = x.size(1);
  return (x * torch::pow(2, torch::arange(n - 1, -1, -1, torch::kInt64)).unsqueeze(0)).sum(1);
}

// Pearson's chi-square of `samples` (row indices) against probabilities p over the cells with
// p > 0, the cells expecting fewer than 5 samples pooled into one (the statistic's chi-square law
// needs it); samples in a cell of p = 0 are counted separately. Returns {statistic, degrees of
// freedom, off}.
struct ChiSquare {
  double statistic;
  int64_t dof;
  int64_t off_support;
};
ChiSquare chi_square(const at::Tensor& indices, const at::Tensor& p) {
  const at::Tensor counts = torch::bincount(indices, {}, p.size(0)).to(torch::kFloat64);
  const at::Tensor support = p > 0;
  const double n = static_cast<double>(indices.size(0));
  const at::Tensor large = support.logical_and(p * n >= 5), small = support.logical_and(p * n < 5);
  at::Tensor expected = p.masked_select(large) * n, observed = counts.masked_select(large);
  if (small.any().item<bool>()) {
    expected = torch::cat({expected, (p.masked_select(small).sum() * n).unsqueeze(0)});
    observed = torch::cat({observed, counts.masked_select(small).sum().unsqueeze(0)});
  }
  return {((observed - expected).square() / expected).sum().item<double>(), expected.size(0) - 1,
          counts.masked_select(support.logical_not()).sum().item<int64_t>()};
}
// A chi-square statistic above dof + 5 sqrt(2 dof) has probability below ~1e-4 under the null for
// the dofs here (1e-4 at dof 15, < 1e-5 from dof ~100): an exact sampler passes (seeded: no flakes).
void expect_chi_square_fits(const ChiSquare& test, const std::string& what) {
  EXPECT_EQ(test.off_support, 0) << what;
  EXPECT_LT(test.statistic, test.dof + 5 * std::sqrt(2.0 * test.dof)) << what << ": dof " << test.dof;
}

// A random non-negative MPS with q states and bond dimension chi.
Mps random_mps(int sites, int64_t q, int64_t chi, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<at::Tensor> tensors;
  for (int i = 0; i < sites; ++i)
    tensors.push_back(torch::rand({i == 0 ? 1 : chi, q, i == sites - 1 ? 1 : chi}, torch::kFloat64) + 0.05);
  return Mps(tensors);
}

TEST(FredkinMps, EqualsTheBoltzmannWeightsOfEveryConfiguration) {
  for (double c : {0.3, 0.5, 0.7}) {
    const int n = 14;
    const at::Tensor x = all_configurations(n);
    const at::Tensor exact = fredkin_exact(n, c);
    const at::Tensor log_p = fredkin_mps(n, c).log_prob(x);
    const at::Tensor valid = exact > 0;
    EXPECT_TRUE(torch::equal(valid, torch::isfinite(log_p))) << "c " << c;
    EXPECT_LT((log_p.masked_select(valid) - exact.masked_select(valid).log()).abs().max().item<double>(),
              1e-11)
        << "c " << c;
    EXPECT_EQ(valid.sum().item<int64_t>(), 429);  // Catalan C_7
  }
}

// log Z of a 400-site chain: at c = 1/2 every Dyck path weighs 1 and Z = C_200 =
// 400! / (201! 200!); at c = 0.7 (q = 7/3) Z is ~e^{16000}, far beyond a double: the rescaled
// contraction against a log-space dynamic programme over heights, f_i(h) = log sum of the weights
// of the paths reaching h after i steps.
TEST(FredkinMps, NormOfALongChainMatchesCatalanAndADynamicProgramme) {
  const int n = 400;
  const double m = n / 2.0;
  const double log_catalan = std::lgamma(2 * m + 1) - std::lgamma(m + 2) - std::lgamma(m + 1);
  EXPECT_NEAR(fredkin_mps(n, 0.5).log_norm().item<double>(), log_catalan, 1e-9 * log_catalan);
  const double c = 0.7, log_q = std::log(c / (1 - c));
  std::vector<double> f(n + 2, -INFINITY);
  f[0] = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> next(n + 2, -INFINITY);
    for (int h = 0; h <= n; ++h) {
      const double from_below = h >= 1 ? f[h - 1] : -INFINITY, from_above = f[h + 1];
      const double high = std::max(from_below, from_above);
      if (high == -INFINITY) continue;
      next[h] = high + std::log(std::exp(from_below - high) + std::exp(from_above - high)) + h / 2.0 * log_q;
    }
    f = next;
  }
  const double log_z = fredkin_mps(n, c).log_norm().item<double>();
  EXPECT_GT(log_z, 1000.0);
  EXPECT_NEAR(log_z, f[0], 1e-10 * log_z);
}

TEST(FredkinMps, SamplesFollowTheExactDistribution) {
  const CounterRng rng(11);
  for (double c : {0.5, 0.7}) {
    const int n = 12;
    const Mps mps = fredkin_mps(n, c);
    const at::Tensor x = mps.sample(rng, 0, 0, 100000);
    EXPECT_TRUE(is_dyck_path(x).all().item<bool>()) << c;
    expect_chi_square_fits(chi_square(row_index(x), fredkin_exact(n, c)), "c " + std::to_string(c));
    // Rows are the global rows of the draw: a block of them is the same wherever it is drawn.
    EXPECT_TRUE(torch::equal(mps.sample(rng, 0, 500, 30), x.narrow(0, 500, 30)));
  }
}

TEST(FredkinMps, BondMarginalsAreTheHeightDistribution) {
  const int n = 14;
  const double c = 0.6;
  const at::Tensor x = all_configurations(n);
  const at::Tensor p = fredkin_exact(n, c);
  const at::Tensor h = heights(x);
  const at::Tensor marginals = fredkin_mps(n, c).bond_marginals();
  ASSERT_EQ(marginals.size(0), n - 1);
  for (int bond = 0; bond < n - 1; ++bond)
    for (int64_t height = 0; height < marginals.size(1); ++height) {
      const double exact = (p * (h.select(1, bond) == height).to(torch::kFloat64)).sum().item<double>();
      EXPECT_NEAR(marginals[bond][height].item<double>(), exact, 1e-12) << bond << " " << height;
    }
}

TEST(JumpNoise, KernelIsASemigroupAndNoiseFollowsIt) {
  for (int64_t q : {2, 3}) {
    const at::Tensor k = uniform_jump_kernel(q, 0.3);
    EXPECT_TRUE(torch::allclose(k.sum(0), torch::ones({q}, torch::kFloat64), 0, 1e-14));
    EXPECT_TRUE(
        torch::allclose(k.matmul(uniform_jump_kernel(q, 0.2)), uniform_jump_kernel(q, 0.5), 0, 1e-14));
    // q = 2: each spin flips with probability (1 - e^{-2 gamma t}) / 2.
    if (q == 2) {
      EXPECT_NEAR(k[1][0].item<double>(), (1 - std::exp(-0.6)) / 2, 1e-15);
    }
    const CounterRng rng(3);
    const int64_t n = 200000;
    const at::Tensor x = torch::randint(0, q, {n, 1}, torch::kInt64);
    const at::Tensor y = add_noise(x, k, rng, 0, 0);
    for (int64_t from = 0; from < q; ++from)
      for (int64_t to = 0; to < q; ++to) {
        const at::Tensor rows = x.squeeze(1) == from;
        const double m = rows.sum().item<double>();
        const double p = k[to][from].item<double>();
        const double share = (y.squeeze(1).masked_select(rows) == to).sum().item<double>() / m;
        EXPECT_NEAR(share, p, 5 * std::sqrt(p * (1 - p) / m)) << from << " -> " << to;
      }
  }
  EXPECT_THROW(uniform_jump_kernel(1, 0.1), Error);
  EXPECT_THROW(uniform_jump_kernel(2, -0.1), Error);
}

// The noised MPS (site tensors mapped by K) against P_t(y) = sum_x prod_i K(y_i | x_i) P(x).
TEST(JumpNoise, NoisedMpsIsTheNoisedDistribution) {
  const int n = 6;
  const Mps mps = random_mps(n, 2, 3, 1);
  const at::Tensor x = all_configurations(n);
  const at::Tensor p = mps.log_prob(x).exp();
  const at::Tensor k = uniform_jump_kernel(2, 0.4);
  // transition[y, x] = prod_i K(y_i | x_i)
  const at::Tensor transition = k.index({x.unsqueeze(1), x.unsqueeze(0)}).prod(2);
  const at::Tensor exact = transition.matmul(p);
  EXPECT_LT((mps.map_sites(k).log_prob(x) - exact.log()).abs().max().item<double>(), 1e-12);
}

// Noise a Dyck path, then denoise exactly: every sample is a Dyck path, distributed as the exact
// posterior P(x | y) ∝ prod_i K(y_i | x_i) P(x) (chi-square over 100000 samples from one y), and
// denoise_log_prob equals that posterior.
TEST(JumpNoise, DenoisingIsExact) {
  const int n = 12;
  const double c = 0.6;
  const Mps mps = fredkin_mps(n, c);
  const CounterRng rng(5);
  const at::Tensor k = uniform_jump_kernel(2, 0.3);
  const at::Tensor clean = mps.sample(rng, 0, 0, 1);
  const at::Tensor y = add_noise(clean, k, rng, 0, 0);
  const at::Tensor x = all_configurations(n);
  const at::Tensor posterior = fredkin_exact(n, c) * k.index({y.expand({x.size(0), n}), x}).prod(1);
  const at::Tensor exact = posterior / posterior.sum();
  const at::Tensor many = y.expand({100000, n}).contiguous();
  const at::Tensor denoised = denoise(mps, many, k, rng, 1, 0);
  EXPECT_TRUE(is_dyck_path(denoised).all().item<bool>());
  expect_chi_square_fits(chi_square(row_index(denoised), exact), "posterior");
  const at::Tensor valid = exact > 0;
  const at::Tensor log_q = denoise_log_prob(mps, x, y.expand({x.size(0), n}), k);
  EXPECT_LT((log_q.masked_select(valid) - exact.masked_select(valid).log()).abs().max().item<double>(),
            1e-10);
  // Three exact reverse steps t = 0.3 -> 0.2 -> 0.1 -> 0 sample the same posterior as one.
  at::Tensor stepped = many;
  const double times[] = {0.3, 0.2, 0.1, 0.0};
  for (int s = 0; s < 3; ++s) stepped = denoise_to(mps, stepped, times[s], times[s + 1], rng, 10 + s, 0);
  EXPECT_TRUE(is_dyck_path(stepped).all().item<bool>());
  expect_chi_square_fits(chi_square(row_index(stepped), exact), "posterior in three steps");
  EXPECT_THROW(denoise_to(mps, y, 0.1, 0.2, rng, 0, 0), Error);
  // Many noised rows at once, each from its own Dyck path: still every sample valid.
  const at::Tensor ys = add_noise(mps.sample(rng, 2, 0, 5000), k, rng, 2, 0);
  EXPECT_TRUE(is_dyck_path(denoise(mps, ys, k, rng, 3, 0)).all().item<bool>());
}

// The connected proposal (noise for time t, then denoise exactly) q(x' | x) = sum_y K(y | x) P(x' | y)
// satisfies P(x) q(x' | x) = P(x') q(x | x') for every pair: checked on a random MPS by enumeration,
// with the code's own P(x' | y). Given P(x' | y) of the form K(y | x') P(x') / f(y) the symmetry
// follows; what can fail here is that form's normalisation (each posterior sums to one, f = P_t).
TEST(JumpNoise, ConnectedProposalSatisfiesDetailedBalance) {
  const int n = 5;
  const Mps mps = random_mps(n, 2, 3, 7);
  const at::Tensor k = uniform_jump_kernel(2, 0.25);
  const at::Tensor x = all_configurations(n);
  const int64_t m = x.size(0);
  const at::Tensor noise = k.index({x.unsqueeze(1), x.unsqueeze(0)}).prod(2);  // [y, x]
  at::Tensor posterior = torch::empty({m, m}, torch::kFloat64);                // [y, x']
  for (int64_t yi = 0; yi < m; ++yi)
    posterior[yi] = denoise_log_prob(mps, x, x[yi].unsqueeze(0).expand({m, n}), k).exp();
  EXPECT_TRUE(torch::allclose(posterior.sum(1), torch::ones({m}, torch::kFloat64), 0, 1e-12));
  const at::Tensor proposal = noise.transpose(0, 1).matmul(posterior);  // [x, x']
  const at::Tensor flow = mps.log_prob(x).exp().unsqueeze(1) * proposal;
  EXPECT_LT((flow - flow.transpose(0, 1)).abs().max().item<double>(), 1e-15);
  EXPECT_GT((proposal - proposal.transpose(0, 1)).abs().max().item<double>(),
            1e-3);  // not trivially symmetric
}

TEST(Mps, GradientsOfTheLogLikelihoodMatchFiniteDifferences) {
  const Mps base = random_mps(6, 3, 4, 2);
  std::vector<at::Tensor> tensors;
  for (const auto& t : base.tensors()) tensors.push_back(t.clone().requires_grad_(true));
  const at::Tensor x = torch::randint(0, 3, {7, 6}, torch::kInt64);
  const auto loss = [&](const std::vector<at::Tensor>& ts) { return -Mps(ts).log_prob(x).mean(); };
  loss(tensors).backward();
  const double h = 1e-6;
  for (int site : {0, 3, 5}) {
    const at::Tensor flat = tensors[site].detach().reshape(-1);
    for (int64_t e = 0; e < flat.size(0); e += 5) {
      std::vector<at::Tensor> plus, minus;
      for (const auto& t : tensors) {
        plus.push_back(t.detach().clone());
        minus.push_back(t.detach().clone());
      }
      plus[site].view(-1)[e] += h;
      minus[site].view(-1)[e] -= h;
      const double numeric = (loss(plus) - loss(minus)).item<double>() / (2 * h);
      EXPECT_NEAR(tensors[site].grad().view(-1)[e].item<double>(), numeric, 1e-6) << site << " " << e;
    }
  }
}

TEST(Mps, BadShapesAreErrors) {
  EXPECT_THROW(Mps({}), Error);
  EXPECT_THROW(Mps({torch::ones({2, 2, 1}, torch::kFloat64)}), Error);  // left bond 2
  EXPECT_THROW(Mps({torch::ones({1, 2, 2}, torch::kFloat64)}), Error);  // right bond 2
  EXPECT_THROW(Mps({torch::ones({1, 2, 1}, torch::kFloat32)}), Error);  // float32
  EXPECT_THROW(fredkin_mps(7, 0.5), Error);
  EXPECT_THROW(fredkin_mps(8, 1.0), Error);
  EXPECT_THROW(fredkin_mps(4000, 0.9), Error);  // q^{N/4} = 9^1000: beyond a double
  // An impossible condition (every weight zero) is an error, not a silent sample.
  EXPECT_THROW(fredkin_mps(4, 0.5).sample(CounterRng(0), 0, 0, 1, torch::zeros({1, 4, 2}, torch::kFloat64)),
               Error);
  EXPECT_THROW(fredkin_mps(8, 0.5).log_weight(torch::zeros({2, 7}, torch::kInt64)), Error);
}

// The 4 x 4 cylinder by enumeration: configurations, energies, pi.
struct ExactIsing {
  IsingCylinder lattice;
  at::Tensor x, energy, pi;
  explicit ExactIsing(double beta) : lattice{4, 4, beta} {
    x = all_configurations(16);
    energy = ising_energy(lattice, x);
    const at::Tensor log_weight = -beta * energy;
    pi = (log_weight - torch::logsumexp(log_weight, 0)).exp();
  }
  // Exact samples: independent draws from pi (an explicit generator: reproducible, and GCC's -O1
  // takes LibTorch's defaulted optional generator for uninitialised).
  at::Tensor sample(int64_t count, uint64_t seed) const {
    const at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return x.index_select(0, torch::multinomial(pi, count, /*replacement=*/true, generator));
  }
  // Chi-square of the energies (-28 + 2 broken bonds: -28..28, step 2) or of the spin sums (-16..16,
  // step 2) of `states` against pi's distribution of them.
  ChiSquare energy_test(const at::Tensor& states) const {
    return level_test(energy, ising_energy(lattice, states), 28, 2);
  }
  ChiSquare magnetisation_test(const at::Tensor& states) const {
    return level_test(16 * magnetisation(x), 16 * magnetisation(states), 16, 2);
  }

 private:
  ChiSquare level_test(const at::Tensor& exact_values, const at::Tensor& values, double offset,
                       double step) const {
    const auto level = [&](const at::Tensor& v) { return ((v + offset) / step).round().to(torch::kInt64); };
    const at::Tensor p = torch::zeros({static_cast<int64_t>(2 * offset / step) + 1}, torch::kFloat64)
                             .index_add_(0, level(exact_values), pi);
    return chi_square(level(values), p);
  }
};

TEST(Ising, EnergyCountsEveryBondOnce) {
  const IsingCylinder lattice{4, 4, 0.4};
  // All up: 4 x 4 bonds around the cylinder + 3 x 4 along it.
  EXPECT_EQ(ising_energy(lattice, torch::ones({1, 16}, torch::kInt64)).item<double>(), -28.0);
  // One flipped spin in the middle column breaks its 4 bonds: +8.
  at::Tensor x = torch::ones({1, 16}, torch::kInt64);
  x[0][5] = 0;
  EXPECT_EQ(ising_energy(lattice, x).item<double>(), -20.0);
  // At an end column the flipped spin has 3 bonds.
  x = torch::ones({1, 16}, torch::kInt64);
  x[0][1] = 0;
  EXPECT_EQ(ising_energy(lattice, x).item<double>(), -22.0);
}

// The transfer matrix's log Z, <E> and entropy against enumeration of 2^16 (4 x 4) and 2^15 (5 x 3)
// configurations, at high temperature and at beta_c; a single column is its own ring.
TEST(Ising, TransferMatrixEqualsEnumeration) {
  for (const IsingCylinder lattice : {IsingCylinder{4, 4, 0.2}, IsingCylinder{4, 4, kIsingCriticalBeta},
                                      IsingCylinder{5, 3, 0.6}, IsingCylinder{1, 6, 0.5}}) {
    const at::Tensor energy = ising_energy(lattice, all_configurations(lattice.sites()));
    const at::Tensor log_weight = -lattice.beta * energy;
    const double log_z = torch::logsumexp(log_weight, 0).item<double>();
    const at::Tensor pi = (log_weight - log_z).exp();
    const double mean_energy = (pi * energy).sum().item<double>(), n = lattice.sites();
    const IsingThermodynamics exact = exact_thermodynamics(lattice);
    EXPECT_NEAR(exact.log_z, log_z, 1e-10 * log_z) << lattice.lx << " x " << lattice.ly;
    EXPECT_NEAR(exact.energy_per_site, mean_energy / n, 1e-10);
    EXPECT_NEAR(exact.entropy_per_site, (log_z + lattice.beta * mean_energy) / n, 1e-10);
  }
  // Beyond enumeration: at beta = 0 every state counts, S / N = log 2 and <E> = 0.
  const IsingThermodynamics free = exact_thermodynamics({12, 16, 0.0});
  EXPECT_NEAR(free.entropy_per_site, std::log(2.0), 1e-12);
  EXPECT_NEAR(free.energy_per_site, 0.0, 1e-12);
  EXPECT_THROW(exact_thermodynamics({4, 2, 0.4}), Error);
  EXPECT_THROW(exact_thermodynamics({4, 22, 0.4}), Error);
}

// pi is kept: 20000 chains started from exact samples take 40 steps of each scheme and their states'
// energies and magnetisations still fit pi's (chi-square; one state per independent chain). The
// MPS proposal is a product favouring up spins (P(up) = 0.7 a site), far from pi (symmetric in m):
// a chain that forgot the proposal ratio in its acceptance would drift to positive m and fail.
TEST(MonteCarlo, EverySchemeKeepsTheExactBoltzmannDistribution) {
  const ExactIsing exact(0.2);
  const CounterRng rng(17);
  const int64_t chains = 20000;
  const at::Tensor start = exact.sample(chains, 8);
  at::Tensor x = start.clone();
  const ChainTrace local = local_metropolis(exact.lattice, x, 40, rng, 0, 0);
  expect_chi_square_fits(exact.energy_test(x), "local Metropolis energy");
  expect_chi_square_fits(exact.magnetisation_test(x), "local Metropolis magnetisation");
  EXPECT_GT(static_cast<double>(local.accepted) / static_cast<double>(local.proposed), 0.2);
  x = start.clone();
  const ChainTrace clusters = wolff(exact.lattice, x, 40, rng, 500, 0);
  expect_chi_square_fits(exact.energy_test(x), "Wolff energy");
  expect_chi_square_fits(exact.magnetisation_test(x), "Wolff magnetisation");
  // Every cluster holds its seed: at least 1/16 of the lattice flips a step.
  EXPECT_GE(static_cast<double>(clusters.accepted) / static_cast<double>(clusters.proposed), 1.0 / 16);
  EXPECT_EQ(clusters.proposed, 40 * chains * 16);
  const at::Tensor up_biased = torch::tensor({0.3, 0.7}, torch::kFloat64).view({1, 2, 1});
  const Mps biased(std::vector<at::Tensor>(16, up_biased));
  for (const std::optional<double> t : {std::optional<double>(), std::optional<double>(0.3)}) {
    const std::string scheme = t ? "connected" : "disconnected";
    x = start.clone();
    const ChainTrace trace = mps_metropolis_hastings(exact.lattice, biased, x, 40, t, rng, 1000, 0);
    expect_chi_square_fits(exact.energy_test(x), scheme + " energy");
    expect_chi_square_fits(exact.magnetisation_test(x), scheme + " magnetisation");
    EXPECT_EQ(trace.proposed, 40 * chains);
    EXPECT_GT(static_cast<double>(trace.accepted) / static_cast<double>(trace.proposed), 0.05) << scheme;
    EXPECT_EQ(trace.energy_per_site.sizes(), (std::vector<int64_t>{40, chains}));
  }
  // Ranks run their chains as global rows: chains 100..149 alone follow the same path.
  at::Tensor all = start.clone(), part = start.narrow(0, 100, 50).clone();
  mps_metropolis_hastings(exact.lattice, biased, all, 5, 0.3, rng, 7, 0);
  mps_metropolis_hastings(exact.lattice, biased, part, 5, 0.3, rng, 7, 100);
  EXPECT_TRUE(torch::equal(all.narrow(0, 100, 50), part));
  all = start.clone();
  part = start.narrow(0, 100, 50).clone();
  wolff(exact.lattice, all, 5, rng, 7, 0);
  wolff(exact.lattice, part, 5, rng, 7, 100);
  EXPECT_TRUE(torch::equal(all.narrow(0, 100, 50), part));
}

// Trained on 8192 exact samples (600 Adam steps), the learned MPS (bond 8) gets within 0.2 nats of
// pi in KL(pi || P_theta), from several nats untrained: the maximum-likelihood fit to M samples sits
// about (parameters) / (2 M) = 2048 / 16384 = 0.12 nats above the best MPS of its size (measured:
// 0.115 at 600 steps from theta ~ 2 N(0, 1); 0.157 from 0.01 N(0, 1), learned_mps.cpp).
TEST(LearnedMps, FitsTheExactDistributionByMaximumLikelihood) {
  const ExactIsing exact(0.4407);
  const at::Tensor data = exact.sample(8192, 5);
  LearnedMps model(16, 2, 8, 0.05, 1);
  LocalCommunicator alone;
  const auto kl = [&] {
    torch::NoGradGuard no_grad;
    return (exact.pi * (exact.pi.log() - model.mps().log_prob(exact.x))).sum().item<double>();
  };
  const double before = kl();
  for (int step = 0; step < 600; ++step)
    model.train_step(data.narrow(0, (step * 512) % 8192, 512), 512, alone);
  const double after = kl();
  EXPECT_LT(after, 0.1 * before) << before << " -> " << after;
  EXPECT_LT(after, 0.2);
}

// AR(1) traces x_{s+1} = rho x_s + noise have tau = (1 + rho) / (1 - rho) = 9 for rho = 0.8; 40
// chains of 20000 steps estimate it within ~5% (Sokal's window; tolerance 10%).
TEST(MonteCarlo, AutocorrelationTimeOfAnAr1Process) {
  torch::manual_seed(2);
  const int64_t steps = 20000, chains = 40;
  const double rho = 0.8;
  const at::Tensor noise = torch::randn({steps, chains}, torch::kFloat64);
  at::Tensor trace = torch::empty({steps, chains}, torch::kFloat64);
  trace[0] = noise[0] / std::sqrt(1 - rho * rho);
  for (int64_t s = 1; s < steps; ++s) trace[s] = rho * trace[s - 1] + noise[s];
  EXPECT_NEAR(integrated_autocorrelation_time(trace), 9.0, 0.9);
  EXPECT_EQ(integrated_autocorrelation_time(torch::ones({100, 3}, torch::kFloat64)), 1.0);
}

// The Fredkin study end to end (one rank; tests/dist runs the job on two): exact denoising leaves
// only Dyck paths at every noise time, in one step and in three, with the exact height profile (max
// |z| over 11 correlated bonds below 5: an exact sampler exceeds it with probability ~1e-5), while the
// noise itself leaves the Dyck paths and moves samples further as t grows.
TEST(FredkinStudy, ExactDenoisingRestoresTheDyckPathsAndTheHeightProfile) {
  const TnConfig config = parse_tn_config(
      "method: tn\nmodel: {kind: fredkin, sites: 12, c: 0.7}\n"
      "denoising: {samples: 4000, noise_times: [0.1, 1.0], reverse_steps: 3}\n");
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tilt_fredkin_" + std::to_string(::getpid()));
  LocalCommunicator alone;
  const TrainResult result = train_tn(config, {dir, StartMode::kFresh, true}, alone);
  std::filesystem::remove_all(dir);
  std::map<std::string, double> metric(result.metrics.begin(), result.metrics.end());
  EXPECT_NEAR(metric.at("log_z"), torch::log(fredkin_weights(12, 0.7).sum()).item<double>(), 1e-10);
  EXPECT_LT(metric.at("sampled_height_max_z"), 5.0);
  for (const char* t : {"_t0.1", "_t1"}) {
    EXPECT_EQ(metric.at(std::string("denoised_dyck_fraction") + t), 1.0) << t;
    EXPECT_EQ(metric.at(std::string("multistep_dyck_fraction") + t), 1.0) << t;
    EXPECT_LT(metric.at(std::string("height_max_z") + t), 5.0) << t;
    EXPECT_LT(metric.at(std::string("multistep_height_max_z") + t), 5.0) << t;
    EXPECT_LT(metric.at(std::string("noised_dyck_fraction") + t), 0.9) << t;
  }
  EXPECT_GT(metric.at("overlap_t0.1"), metric.at("overlap_t1"));
  EXPECT_GT(metric.at("noised_dyck_fraction_t0.1"), metric.at("noised_dyck_fraction_t1"));
}

TEST(TnConfig, BadValuesAreOneLineErrorsAndTheResolvedConfigRoundTrips) {
  for (const char* bad :
       {"model.kind=potts", "model.ly=5", "model.ly=2", "model.beta=0", "model.lx=1000", "mps.bond=0",
        "mps.lr=0", "mps.lr_final_fraction=0", "mps.lr_final_fraction=1.5", "mps.training_chains=10",
        "chains.steps=1", "chains.noise_times=[0.1, -1]", "chains.noise_times=[0.1, 0.1]",
        "chains.count=5000", "chains.steps=2000000", "chains.speed=3"}) {
    try {
      parse_tn_config("method: tn\n", {bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      const std::string message = e.what(), key = std::string(bad).substr(0, std::string(bad).find('='));
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find(key.substr(key.find('.') + 1)), std::string::npos) << bad << ": " << message;
    }
  }
  // The Fredkin study: its own keys, and no Ising sections (nor an Ising run a denoising one).
  EXPECT_NE(test_support::error_message([] {
              parse_tn_config("method: tn\n", {"denoising.samples=10"});
            }).find("denoising"),
            std::string::npos);
  for (const char* bad :
       {"model.sites=13", "model.sites=1000", "model.c=1", "model.lx=4", "denoising.samples=1",
        "denoising.reverse_steps=0", "denoising.noise_times=[0.2, 0.2]", "mps.bond=4", "chains.count=4"}) {
    try {
      parse_tn_config("method: tn\nmodel: {kind: fredkin}\n", {bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      const std::string message = e.what(), key = std::string(bad).substr(0, std::string(bad).find('='));
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find(key.substr(0, key.find('.'))), std::string::npos) << bad << ": " << message;
    }
  }
  const TnConfig fredkin = parse_tn_config("method: tn\nmodel: {kind: fredkin, sites: 20, c: 0.3}\n");
  EXPECT_EQ(to_yaml(parse_tn_config(to_yaml(fredkin))), to_yaml(fredkin));
  EXPECT_EQ(fredkin.fredkin->sites, 20);
  const TnConfig parsed = parse_tn_config("method: tn\n", {"model.lx=6", "chains.noise_times=[0.3]",
                                                           "mps.iterations=11", "mps.lr_final_fraction=0.1"});
  EXPECT_EQ(to_yaml(parse_tn_config(to_yaml(parsed))), to_yaml(parsed));
  // The learning rate's factor: 1 at the first step, linear, the final fraction at the last.
  EXPECT_DOUBLE_EQ(parsed.lr_scale(0), 1.0);
  EXPECT_DOUBLE_EQ(parsed.lr_scale(5), 0.55);
  EXPECT_DOUBLE_EQ(parsed.lr_scale(10), 0.1);
}

}  // namespace
}  // namespace tilt::tn
