// `tilt train` for `method: mdm`: a multivariate diffusion (mdm/mdm_model.h) trained by its ELBO on
// exact samples of a 2-D density, on the shared run layers (run directory and start modes, stop
// signals, progress, metrics tables, checkpoints with resume), then evaluated against ground truth:
// eval.json holds the test ELBO over held-out exact samples beside their exact log-likelihood (the
// bound's gap), and the reverse-SDE samples' distances to exact samples (data/sample_metrics_2d.h);
// samples.h5 holds the samples with the exact density for plots.
#pragma once

#include "dist/communicator.h"
#include "mdm/mdm_config.h"
#include "train/trainer.h"

namespace tilt::mdm {

TrainResult train_mdm(const MdmConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::mdm
