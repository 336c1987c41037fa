// Parameter and gradient synchronisation over a Communicator: parameters start identical (broadcast
// from rank 0); gradients are summed over ranks in flat buckets (one collective per bucket, as
// PyTorch DDP does), so every rank applies the same update.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <vector>

#include "dist/communicator.h"

namespace tilt {

void broadcast_parameters(const std::vector<at::Tensor>& parameters, Communicator& comm);

class GradientSync {
 public:
  // bucket_bytes: ~25 MB as in DDP; the tilt networks fit in one bucket.
  explicit GradientSync(size_t bucket_bytes = 25u << 20) : bucket_floats_(bucket_bytes / sizeof(float)) {}
  // Sums .grad of every parameter over ranks (parameters without a gradient count as zero); float32
  // and float64 parameters.
  void all_reduce(const std::vector<at::Tensor>& parameters, Communicator& comm);

 private:
  void bucket(const std::vector<at::Tensor>& float_parameters, Communicator& comm);

  size_t bucket_floats_;
  std::vector<float> bucket_;
};

}  // namespace tilt
