// Global batches over a finite data set, split over ranks: every rank computes the same order, so
// no indices travel. Epoch e visits the examples in a permutation drawn from (seed, e) (a fresh
// order each epoch, the same for a given seed on any number of ranks); the run's batch b is
// positions [j B, (j + 1) B) of its epoch's permutation, j = b mod floor(N / B), and this rank reads
// its rows of that batch (shard_batch). Within an epoch the ranks' rows never overlap and cover
// floor(N / B) B examples; the N mod B left out differ from epoch to epoch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/rng.h"

namespace tilt::data {

class ShardedLoader {
 public:
  ShardedLoader(int64_t examples, int64_t global_batch, uint64_t seed, int rank, int ranks);

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // int64 [rows]: the example indices of this rank's rows of the run's global batch `batch`.
  at::Tensor indices(int64_t batch) const;
  // int64 [N]: epoch `epoch`'s order.
  at::Tensor permutation(int64_t epoch) const;

 private:
  int64_t examples_, global_batch_, batches_per_epoch_;
  CounterRng rng_;
  int rank_, ranks_;
  mutable int64_t cached_epoch_ = -1;
  mutable at::Tensor cached_;
};

}  // namespace tilt::data
