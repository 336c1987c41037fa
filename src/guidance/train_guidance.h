// `tilt train` for `method: guidance`: what classifier-free guidance does where the scores are exact
// (docs/guidance.md). The guided class's conditional and the mixture's marginal scores come in closed
// form (guidance/exact_mixture.h), optionally with Theorem 3's score error (a share of the class
// score's pull back toward its support removed); every guidance scale is sampled and judged by the
// scale scan (guidance/scale_scan.h), which also prescribes a scale. Nothing is learned or
// checkpointed: a resumed run starts again.
// eval.json holds the metrics; guidance_study.h5 the trajectories, final samples, ground truth
// (the class's exact samples and support boxes) and per-scale shares that reports draw.
#pragma once

#include "dist/communicator.h"
#include "guidance/guidance_config.h"
#include "train/trainer.h"

namespace tilt::guidance {

TrainResult train_guidance(const GuidanceConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::guidance
