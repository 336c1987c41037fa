#include "source/replay_buffer.h"

#include <torch/torch.h>

#include <algorithm>
#include <iterator>

#include "core/error.h"
#include "io/hdf5_file.h"

namespace tilt {

ReplayBuffer::ReplayBuffer(int64_t capacity, int64_t dim, ReplayPriority priority, double rank_k)
    : capacity_(capacity),
      dim_(dim),
      priority_(priority),
      rank_k_(rank_k),
      states_(torch::zeros({capacity, dim}, torch::kFloat32)),
      log_reward_(torch::zeros({capacity}, torch::kFloat32)) {}

void ReplayBuffer::add(const at::Tensor& states, const at::Tensor& log_reward) {
  // Only the newest `capacity` rows of a batch larger than the buffer survive.
  const int64_t n = states.size(0), skip = std::max<int64_t>(0, n - capacity_), kept = n - skip;
  const at::Tensor slots = (torch::arange(kept, torch::kInt64) + next_) % capacity_;
  states_.index_copy_(0, slots, states.narrow(0, skip, kept).to(torch::kFloat32));
  log_reward_.index_copy_(0, slots, log_reward.narrow(0, skip, kept).to(torch::kFloat32));
  next_ = (next_ + kept) % capacity_;
  size_ = std::min(capacity_, size_ + kept);
  if (priority_ != ReplayPriority::kRank) return;
  // The overwritten slots leave the order; the new rows, sorted, are merged in.
  const float* r = log_reward_.data_ptr<float>();
  const auto before = [r](int64_t a, int64_t b) { return r[a] > r[b] || (r[a] == r[b] && a < b); };
  std::vector<char> rewritten(static_cast<size_t>(capacity_), 0);
  std::vector<int64_t> added(static_cast<size_t>(kept));
  const int64_t* slot = slots.data_ptr<int64_t>();
  for (int64_t i = 0; i < kept; ++i)
    rewritten[static_cast<size_t>(slot[i])] = 1, added[static_cast<size_t>(i)] = slot[i];
  std::vector<int64_t> kept_order;
  kept_order.reserve(order_.size());
  for (int64_t s : order_)
    if (!rewritten[static_cast<size_t>(s)]) kept_order.push_back(s);
  std::sort(added.begin(), added.end(), before);
  order_.clear();
  std::merge(kept_order.begin(), kept_order.end(), added.begin(), added.end(), std::back_inserter(order_),
             before);
}

void ReplayBuffer::sort_order() {
  order_.resize(static_cast<size_t>(size_));
  for (int64_t i = 0; i < size_; ++i) order_[static_cast<size_t>(i)] = i;
  const float* r = log_reward_.data_ptr<float>();
  std::sort(order_.begin(), order_.end(),
            [r](int64_t a, int64_t b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
}

at::Tensor ReplayBuffer::probabilities() const {
  const at::Tensor log_r = log_reward_.narrow(0, 0, size_).to(torch::kFloat64);
  switch (priority_) {
    case ReplayPriority::kUniform:
      return torch::full({size_}, 1.0 / static_cast<double>(size_), torch::kFloat64);
    case ReplayPriority::kReward:
      return torch::softmax(log_r, 0);
    case ReplayPriority::kRank: {
      // rank_i = the position of row i in order_ (log R descending, ties by slot).
      const at::Tensor order = torch::from_blob(const_cast<int64_t*>(order_.data()), {size_}, torch::kInt64);
      at::Tensor rank = torch::empty({size_}, torch::kFloat64);
      rank.index_put_({order}, torch::arange(size_, torch::kFloat64));
      const at::Tensor weight = 1.0 / (rank_k_ * static_cast<double>(size_) + rank);
      return weight / weight.sum();
    }
  }
  return {};
}

at::Tensor ReplayBuffer::draw(const CounterRng& rng, uint32_t iteration, uint32_t stream_step,
                              int64_t row_begin, int64_t rows) const {
  if (size_ == 0) throw Error("replay buffer: drawing from an empty buffer");
  const at::Tensor cumulative = probabilities().cumsum(0);
  const at::Tensor u = rng.uniform(RngStream::kReplay, iteration, stream_step, row_begin, rows, 1)
                           .to(torch::kFloat64)
                           .squeeze(1) *
                       cumulative[-1];
  return torch::searchsorted(cumulative, u).clamp_max(size_ - 1);
}

void ReplayBuffer::save(io::H5File& file, const std::string& group) const {
  file.write(group + "/next", torch::tensor(next_, torch::kInt64));
  file.write(group + "/size", torch::tensor(size_, torch::kInt64));
  if (size_ == 0) return;  // no zero-length datasets
  file.write(group + "/states", states_.narrow(0, 0, size_));
  file.write(group + "/log_reward", log_reward_.narrow(0, 0, size_));
}

void ReplayBuffer::load(const io::H5File& file, const std::string& group) {
  const int64_t size = file.read(group + "/size").item<int64_t>();
  if (size > capacity_)
    throw Error("checkpoint '" + file.path().string() + "': " + group + " holds " + std::to_string(size) +
                " states, more than this config's capacity " + std::to_string(capacity_));
  size_ = size;
  next_ = file.read(group + "/next").item<int64_t>() % capacity_;
  order_.clear();
  if (size_ == 0) return;
  const at::Tensor states = file.read(group + "/states");
  if (states.size(1) != dim_)
    throw Error("checkpoint '" + file.path().string() + "': " + group + " holds states of another dimension");
  states_.narrow(0, 0, size_).copy_(states);
  log_reward_.narrow(0, 0, size_).copy_(file.read(group + "/log_reward"));
  sort_order();
}

}  // namespace tilt
