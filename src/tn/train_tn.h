// `tilt train` for `method: tn`: tensor-network Monte Carlo on the Ising cylinder (docs/tn.md); with
// `model.kind: fredkin`, the Fredkin chain's exact denoising study instead (tn/fredkin_study.h).
//   1. The training set: `training_chains` local Metropolis chains from random spins after
//      `burn_in_sweeps` sweeps (each rank its share of the chains, gathered on every rank).
//   2. A learned MPS (tn/learned_mps.h) fitted by its negative log-likelihood, data-parallel, on
//      the shared run layers (run directory, resume, signals, progress, metrics, checkpoints).
//   3. Chains of every scheme — local Metropolis, disconnected MH, connected MH at each noise time —
//      from training-set states (each rank its share of the chains): acceptance, integrated
//      autocorrelation times of the energy and |m|, the energy per site; on lattices of at most 16
//      sites also the exact values by enumeration and the MPS's exact KL(pi || P_theta).
// eval.json holds the metrics; study.h5 the acceptance and autocorrelation against noise time.
#pragma once

#include "dist/communicator.h"
#include "tn/tn_config.h"
#include "train/trainer.h"

namespace tilt::tn {

TrainResult train_tn(const TnConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::tn
