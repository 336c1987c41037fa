// The constrained Fredkin chain's equilibrium as an exact MPS (research/tn_mdm_guidance.md §A.3):
// N sites (N even), spin 1 = up, 0 = down, heights h_i = sum_{j <= i} (2 s_j - 1); the allowed
// configurations are the Dyck paths (h_i >= 0, h_N = 0), weighted P(x) ∝ q^{A(x) / 2} with area
// A = sum_i h_i and q = c / (1 - c) (c = 1/2: uniform over the C_{N/2} Dyck paths; c < 1/2 flat,
// c > 1/2 heights ~ N). The bond index is the height: A_i^up[h, h + 1] = q^{(h + 1) / 2},
// A_i^down[h, h - 1] = q^{(h - 1) / 2}, bond i of dimension min(i, N - i) + 1 (every height that
// can still return to zero).
#pragma once

#include <ATen/core/Tensor.h>

#include "tn/mps.h"

namespace tilt::tn {

Mps fredkin_mps(int sites, double c);
// x int64 [B, N] -> heights int64 [B, N] (after each site).
at::Tensor heights(const at::Tensor& x);
// x int64 [B, N] -> bool [B]: a Dyck path.
at::Tensor is_dyck_path(const at::Tensor& x);

}  // namespace tilt::tn
