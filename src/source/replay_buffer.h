// A FIFO buffer of terminal states and their log R, replicated on every rank: each rank adds the
// whole global batch (all-gathered), so all ranks hold the same buffer and draw global rows from the
// counter RNG, and N ranks replay exactly the states one rank would. (Sharding it would save memory -
// 600k x 32 floats is 77 MB a rank - but rank priorities are global: a sharded buffer would need a
// collective per draw and could not reproduce one rank's draws.)
// Draws are with replacement, with probability
//   uniform: 1/|D|;   reward: R_i / sum R (a softmax of log R);   rank: 1/(k |D| + rank_i), rank 0 the
//   highest log R (Sendera et al. App. E; recomputed at every draw, unlike the reference code).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/rng.h"

namespace tilt {

namespace io {
class H5File;
}

enum class ReplayPriority { kUniform, kReward, kRank };

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t dim, ReplayPriority priority, double rank_k);

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  // Appends rows (oldest ones evicted beyond capacity): states [N, D], log_reward [N].
  void add(const at::Tensor& states, const at::Tensor& log_reward);
  // The sampling probability of every stored row, float64 [size()].
  at::Tensor probabilities() const;
  // Global rows [row_begin, row_begin + rows) of a draw of indices, from counter uniforms of
  // (RngStream::kReplay, iteration, stream_step).
  at::Tensor draw(const CounterRng& rng, uint32_t iteration, uint32_t stream_step, int64_t row_begin,
                  int64_t rows) const;
  at::Tensor states(const at::Tensor& indices) const { return states_.index_select(0, indices); }
  at::Tensor log_reward(const at::Tensor& indices) const { return log_reward_.index_select(0, indices); }

  // Its contents under `group` of a checkpoint.
  void save(io::H5File& file, const std::string& group) const;
  void load(const io::H5File& file, const std::string& group);

 private:
  int64_t capacity_, dim_;
  ReplayPriority priority_;
  double rank_k_;
  // Rebuilds order_ from scratch (after a load).
  void sort_order();

  at::Tensor states_, log_reward_;  // [capacity, D], [capacity]: a ring
  int64_t size_ = 0, next_ = 0;     // rows held; where the next row goes
  // Rank priority: the held slots by log R descending (ties: lower slot first), kept up to date by
  // merging each added batch in, O(|D|) instead of a sort of the whole buffer at every draw.
  std::vector<int64_t> order_;
};

}  // namespace tilt
