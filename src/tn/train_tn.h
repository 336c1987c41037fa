// `tilt train` for `method: tn`: tensor-network Monte Carlo on the Ising cylinder (docs/tn.md); with
// `model.kind: fredkin`, the Fredkin chain's exact denoising study instead (tn/fredkin_study.h).
//   1. Training and held-out sets: `training_chains` (and a quarter as many) local Metropolis chains
//      from random spins after `burn_in_sweeps` sweeps (each rank its share, gathered everywhere).
//   2. A learned MPS (tn/learned_mps.h) fitted by its negative log-likelihood, data-parallel, on
//      the shared run layers (run directory, resume, signals, progress, metrics, checkpoints).
//   3. Chains of every scheme — local Metropolis, Wolff, disconnected MH, connected MH at each noise
//      time — from training-set states (each rank its share of the chains): acceptance, integrated
//      autocorrelation times of the energy and |m|, the energy per site, seconds a step, and the
//      energy and |m| distributions (beside pi's by the held-out chains and the MPS's own).
//   4. Exact references: the transfer matrix's energy and entropy (ly <= 16; the MPS's KL estimated
//      on the held-out set), enumeration's <|m|> and exact KL on lattices of at most 16 sites.
// eval.json holds the metrics; study.h5 the per-scheme rows and distributions that reports draw.
#pragma once

#include "dist/communicator.h"
#include "tn/tn_config.h"
#include "train/trainer.h"

namespace tilt::tn {

TrainResult train_tn(const TnConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::tn
