// `tilt train` for `method: dxmi`: denoising score matching of the starting sampler (prior.iterations),
// its evaluation (prior_eval.json), then DxMI iterations (dxmi.h), on the shared run layers: the run
// directory and its start modes (train/run_directory.h), stop signals and rank-0 file work
// (train/run_control.h), progress, metrics tables, checkpoints of every network and optimiser with
// resume, and the final evaluation (eval.json with the prior's metrics beside, samples.h5).
#pragma once

#include "dist/communicator.h"
#include "dxmi/dxmi_config.h"
#include "train/trainer.h"

namespace tilt::dxmi {

TrainResult train_dxmi(const DxmiConfig& config, const TrainOptions& options, Communicator& comm);

// Throws one line naming the first difference when `config` cannot continue the checkpoint's run:
// any change but train.iterations, train.log_every, train.checkpoint_every and eval.
void check_dxmi_resumable(const std::filesystem::path& checkpoint, const DxmiConfig& config);

}  // namespace tilt::dxmi
