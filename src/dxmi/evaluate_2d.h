// DxMI's 2-D evaluation against ground truth (docs/dxmi.md): the sampler's samples against exact
// samples of the data density (sliced 2-Wasserstein over 128 directions and the energy distance,
// each beside the same distance between two exact sample sets: its noise floor), the fraction of
// samples at each of the 8 modes and off the support; and the energy on a 64 x 64 grid over
// [-4, 4]^2 (the box holding both data sets): the Spearman rank correlation of -E with the exact
// log-density over the grid (the energy is defined up to a constant; -inf ranks lowest), the same
// on the support alone (the density within e^5 of its peak; none where the density is flat there,
// as checkerboard's), and the AUROC of -E separating the support from the rest of the box.
#pragma once

#include "core/rng.h"
#include "dist/communicator.h"
#include "dxmi/density2d.h"
#include "dxmi/diffusion_sampler.h"
#include "dxmi/dxmi.h"

namespace tilt::dxmi {

// The sample-based metrics of `sampler` (`samples` paths over all ranks, noise draw `draw`); equal
// on every rank. Names: sliced_w2, sliced_w2_exact_vs_exact, energy_distance,
// energy_distance_exact_vs_exact, mode_fraction_min, mode_fraction_max, mode_fraction_worst_rel_dev
// (max_k |f_k - 1/8| / (1/8)), outside_support. `gathered` (optional): the samples [samples, 2],
// on rank 0 (empty elsewhere).
Metrics evaluate_samples(const DiffusionSampler& sampler, const Density2d& density, const CounterRng& rng,
                         int64_t samples, uint32_t draw, Communicator& comm, at::Tensor* gathered = nullptr);

// spearman_neg_energy_log_density, spearman_on_support and auroc_support (every rank computes them).
Metrics evaluate_energy(const Dxmi& dxmi, const Density2d& density);

// Spearman's rank correlation of two equal-length float64 vectors (ties take their mean rank).
double spearman(const at::Tensor& a, const at::Tensor& b);
// The probability that a score of `positive` exceeds one of `negative` (ties count half): the area
// under the ROC curve, by the rank-sum formula.
double auroc(const at::Tensor& positive, const at::Tensor& negative);

}  // namespace tilt::dxmi
