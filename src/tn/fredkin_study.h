// `tilt train` for `method: tn` with `model.kind: fredkin`: exact denoising of the Fredkin chain
// (docs/tn.md). Nothing is learned: the MPS is exact (tn/fredkin.h), so the study measures what the
// noise does and checks that exact denoising undoes it.
//   1. `samples` exact samples (each rank its share by global row) and their mean height profile
//      against the exact one from the bond marginals (max |z| over the bonds).
//   2. For each noise time: the samples noised (the share of Dyck paths left), denoised exactly in
//      one step and in `reverse_steps` steps (t -> ... -> 0): the share of Dyck paths (exactly 1),
//      the height profile's max |z| against the exact one, and the overlap with the clean sample
//      (the share of equal sites: how far a connected proposal moves at this noise time).
// eval.json holds the metrics; fredkin_study.h5 the profiles and the curves against the noise time.
#pragma once

#include "dist/communicator.h"
#include "tn/tn_config.h"
#include "train/trainer.h"

namespace tilt::tn {

TrainResult run_fredkin_study(const TnConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::tn
