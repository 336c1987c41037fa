// `tilt train` for `method: mdm`: a multivariate diffusion (mdm/mdm_model.h) trained by its ELBO on
// the data mdm/mdm_data.h provides (exact samples of a 2-D density, or dequantised logit images),
// on the shared run layers (run directory and start modes, stop signals, progress, metrics tables,
// checkpoints with resume), then evaluated: eval.json holds the test ELBO beside the exact
// log-likelihood (2-D) or the test set's bits per dimension (images), and the reverse-SDE samples'
// metrics; samples.h5 holds the samples (with the exact density, or as images) for plots.
#pragma once

#include "dist/communicator.h"
#include "mdm/mdm_config.h"
#include "train/trainer.h"

namespace tilt::mdm {

TrainResult train_mdm(const MdmConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::mdm
