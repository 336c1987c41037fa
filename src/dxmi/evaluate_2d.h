// DxMI's 2-D energy against ground truth (docs/dxmi.md; the samples' metrics are
// data/sample_metrics_2d.h): the energy on a 64 x 64 grid over
// [-4, 4]^2 (the box holding both data sets): the Spearman rank correlation of -E with the exact
// log-density over the grid (the energy is defined up to a constant; -inf ranks lowest), the same
// on the support alone (the density within e^5 of its peak; none where the density is flat there,
// as checkerboard's), and the AUROC of -E separating the support from the rest of the box.
#pragma once

#include "core/rng.h"
#include "data/density2d.h"
#include "dist/communicator.h"
#include "dxmi/dxmi.h"

namespace tilt::dxmi {

// spearman_neg_energy_log_density, spearman_on_support and auroc_support (every rank computes them).
Metrics evaluate_energy(const Dxmi& dxmi, const data::Density2d& density);

// Spearman's rank correlation of two equal-length float64 vectors (ties take their mean rank).
double spearman(const at::Tensor& a, const at::Tensor& b);
// The probability that a score of `positive` exceeds one of `negative` (ties count half): the area
// under the ROC curve, by the rank-sum formula.
double auroc(const at::Tensor& positive, const at::Tensor& negative);

}  // namespace tilt::dxmi
