// Monte Carlo on the Ising cylinder with tensor-network proposals (research/tn_mdm_guidance.md
// §A.2), beside local Metropolis (ising.h):
//   disconnected   x' ~ P_theta, independent of x;
//   connected      noise x for a time t (jump_noise.h), then denoise exactly: x' ~ P_theta(. | y).
// Both proposals are reversible with respect to P_theta (the connected one by construction), so
// both accept with min{1, pi(x') P_theta(x) / (pi(x) P_theta(x'))}: the chain samples pi exactly
// however good P_theta is; t trades acceptance (t -> 0: always, but no move) against the
// correlation of successive states (t -> infinity: the disconnected scheme).
// Chains are rows of x [C, N] with global indices row_begin..: every random number comes from the
// counter RNG by global chain, so ranks running their share of the chains reproduce one rank.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "core/rng.h"
#include "tn/ising.h"
#include "tn/mps.h"

namespace tilt::tn {

// What a run of chains records: per step and chain, float64 [steps, C].
struct ChainTrace {
  at::Tensor energy_per_site, abs_magnetisation;
  int64_t accepted = 0, proposed = 0;  // MH moves (local Metropolis: single-spin flips)
};

// `steps` Metropolis-Hastings steps with P_theta proposals from the chains x, in place; gamma_t: the
// connected scheme's noise time, none: disconnected. draw: the first step's draw (one draw a step).
ChainTrace mps_metropolis_hastings(const IsingCylinder& lattice, const Mps& proposal, at::Tensor& x,
                                   int steps, std::optional<double> gamma_t, const CounterRng& rng,
                                   uint32_t draw, int64_t row_begin);
// `steps` sweeps of local Metropolis, recorded after each sweep.
ChainTrace local_metropolis(const IsingCylinder& lattice, at::Tensor& x, int steps, const CounterRng& rng,
                            uint32_t draw, int64_t row_begin);

// `steps` Wolff cluster flips: from a uniformly chosen seed, neighbours of equal spin join with
// probability 1 - e^{-2 beta}, and the cluster flips (always accepted). Each bond is tested at most
// once in a cluster's growth, so one uniform a bond a step suffices (draws by global chain).
// accepted / proposed: the flipped spins over steps x N, the mean cluster's share of the lattice.
ChainTrace wolff(const IsingCylinder& lattice, at::Tensor& x, int steps, const CounterRng& rng, uint32_t draw,
                 int64_t row_begin);

// The integrated autocorrelation time of traces [steps, C] (in steps): 1 + 2 sum_{s=1}^{W} rho(s)
// with rho from the autocovariance pooled over chains about the overall mean, and Sokal's window,
// the smallest W >= 5 tau(W). A constant trace gives 1.
double integrated_autocorrelation_time(const at::Tensor& trace);

}  // namespace tilt::tn
