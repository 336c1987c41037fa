// The 2-D Ising model on a cylinder (research/tn_mdm_guidance.md §A.4): an lx x ly lattice, open
// at the two ends in x and periodic around y, spins s = 2 x - 1 for site states x in {0, 1},
// E(s) = -sum_<ij> s_i s_j (J = 1), pi(s) ∝ e^{-beta E}. Sites are ordered column by column
// around the periodic direction (site = column * ly + row), the order an MPS of the lattice
// follows: a column's ly sites lie next to each other and a bond of the chain crosses the cylinder
// once. beta_c of the infinite lattice: log(1 + sqrt 2) / 2.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>

#include "core/rng.h"

namespace tilt::tn {

inline const double kIsingCriticalBeta = std::log(1 + std::sqrt(2.0)) / 2;

struct IsingCylinder {
  int lx = 8, ly = 8;
  double beta = kIsingCriticalBeta;
  int sites() const { return lx * ly; }
};

// x int64 [B, N] -> E float64 [B].
at::Tensor ising_energy(const IsingCylinder& lattice, const at::Tensor& x);
// x int64 [B, N] -> the mean spin m float64 [B].
at::Tensor magnetisation(const at::Tensor& x);

// Local Metropolis: `sweeps` checkerboard sweeps (each colour's sites flipped in parallel with
// probability min(1, e^{-beta dE}); ly must be even for the colouring to hold around the cylinder)
// of the chains x [C, N] (global chains row_begin..), in place. draw: the sweep counter's base.
void metropolis_sweeps(const IsingCylinder& lattice, at::Tensor& x, int sweeps, const CounterRng& rng,
                       uint32_t draw, int64_t row_begin);

// Exact thermodynamics by the column transfer matrix: Z = sum over the lx columns' 2^ly states of
// the intra-column and inter-column Boltzmann factors, contracted column by column (the
// inter-column factor one spin row at a time: O(lx ly 2^ly)), <E> = -d log Z / d beta by autograd,
// the entropy S = log Z + beta <E>. Ground truth for lattices far beyond enumeration (ly <= 20).
struct IsingThermodynamics {
  double log_z, energy_per_site, entropy_per_site;
};
IsingThermodynamics exact_thermodynamics(const IsingCylinder& lattice);

}  // namespace tilt::tn
