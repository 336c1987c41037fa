#include "data/sharded_loader.h"

#include <torch/torch.h>

#include "core/error.h"
#include "dist/communicator.h"

namespace tilt::data {

ShardedLoader::ShardedLoader(int64_t examples, int64_t global_batch, uint64_t seed, int rank, int ranks)
    : examples_(examples),
      global_batch_(global_batch),
      batches_per_epoch_(global_batch > 0 ? examples / global_batch : 0),
      rng_(seed),
      rank_(rank),
      ranks_(ranks) {
  if (global_batch < ranks)
    throw Error("data: a batch of " + std::to_string(global_batch) + " cannot be split over " +
                std::to_string(ranks) + " ranks");
  if (batches_per_epoch_ == 0)
    throw Error("data: the set has " + std::to_string(examples) + " examples, fewer than one batch of " +
                std::to_string(global_batch));
}

at::Tensor ShardedLoader::permutation(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    const at::Tensor keys =
        rng_.uniform(RngStream::kDataOrder, static_cast<uint32_t>(epoch), 0, 0, examples_, 1);
    // Stable: float32 keys tie (about N^2 / 2^25 pairs), and ties must break the same way everywhere.
    cached_ = std::get<1>(keys.squeeze(1).sort(/*stable=*/true, 0, false));
    cached_epoch_ = epoch;
  }
  return cached_;
}

at::Tensor ShardedLoader::indices(int64_t batch) const {
  const int64_t epoch = batch / batches_per_epoch_, within = batch % batches_per_epoch_;
  const BatchShard shard = shard_batch(global_batch_, rank_, ranks_);
  return permutation(epoch).narrow(0, within * global_batch_ + shard.begin, shard.count);
}

}  // namespace tilt::data
