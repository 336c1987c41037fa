// Collecting per-rank rows of a float32 tensor on one rank (samples for files and metrics) or on
// all of them (what a replicated replay buffer stores).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "dist/communicator.h"

namespace tilt {

// The rows of every rank's `rows` [N_r, ...] (float32), concatenated in rank order, row-major, on
// `root`; empty elsewhere.
std::vector<float> gather_rows(const at::Tensor& rows, Communicator& comm, int root = 0);

// Every rank's rows [N_r, C] (float32), concatenated in rank order, on every rank: [sum N_r, C].
at::Tensor all_gather_rows(const at::Tensor& rows, Communicator& comm);

}  // namespace tilt
