// `tilt train` for `method: guidance`: what classifier-free guidance does (docs/guidance.md).
//   model.kind exact    the guided class's conditional and the mixture's marginal scores in closed
//                       form (guidance/exact_mixture.h), optionally with Theorem 3's score error (a
//                       share of the class score's far-tail pull removed); nothing is checkpointed.
//   model.kind learned  a conditional noise predictor trained with label dropout on the mixture's
//                       exact samples (guidance/conditional_denoiser.h), data-parallel, on the shared
//                       run layers (resume, signals, progress, metrics, checkpoints); its guided
//                       score is (w + 1) s(x | z) - w s(x | null).
// Then every guidance scale is sampled and judged against the mixture's ground truth by the scale
// scan (guidance/scale_scan.h), which prescribes a scale. Resuming a finished learned run with other
// `sampling` settings rescans the trained model without training it again (the scale-scan tool).
// eval.json holds the metrics; guidance_study.h5 the trajectories, final samples, ground truth
// (the class's exact samples and the components' boxes) and per-scale shares that reports draw.
#pragma once

#include "dist/communicator.h"
#include "guidance/guidance_config.h"
#include "train/trainer.h"

namespace tilt::guidance {

TrainResult train_guidance(const GuidanceConfig& config, const TrainOptions& options, Communicator& comm);

}  // namespace tilt::guidance
