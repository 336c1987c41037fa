// Off-policy training from a replay buffer (Sendera et al. §4.2, research/rtb.md §1.4): iterations
// alternate between forward batches (the sampler with exploration; their terminal states go into the
// buffer) and backward batches - trajectories of the fixed backward process from states the buffer
// hands out by priority. With local search, every `every` iterations a batch drawn from the buffer
// seeds parallel MALA chains whose accepted states fill a second buffer, which the backward batches
// then draw from instead.
#pragma once

#include <memory>
#include <optional>

#include "core/config_section.h"
#include "source/local_search.h"
#include "source/replay_buffer.h"
#include "source/source.h"

namespace tilt {

struct ReplayOptions {
  int backward_every = 2;  // iteration i is backward when i % backward_every == backward_every - 1
  int64_t capacity = 600000;
  ReplayPriority priority = ReplayPriority::kRank;
  double rank_k = 0.01;  // rank priority 1 / (k |D| + rank)
  std::optional<LocalSearchOptions> local_search;
  static ReplayOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class ReplaySource final : public TrajectorySource {
 public:
  ReplaySource(const SourceContext& context, const ExplorationConfig& exploration,
               const ReplayOptions& options);
  Trajectory next(uint32_t iteration, const BatchShard& shard, Communicator& comm) override;
  std::vector<std::string> metric_names() const override;
  std::vector<double> metrics(uint32_t iteration) const override;
  void save(io::H5File& file) const override;
  void load(const io::H5File& file) override;

  bool is_backward(uint32_t iteration) const;
  const ReplayBuffer& buffer() const { return buffer_; }
  const ReplayBuffer* local_search_buffer() const { return local_search_buffer_.get(); }

 private:
  // Runs local search from buffer draws and adds what it accepted, in a rank-independent order.
  void refresh(uint32_t iteration, const BatchShard& shard, Communicator& comm);

  SourceContext context_;
  ForwardSource forward_;
  ReplayOptions options_;
  ReplayBuffer buffer_;
  std::unique_ptr<LocalSearch> local_search_;
  std::unique_ptr<ReplayBuffer> local_search_buffer_;
  int64_t refreshed_block_ = -1;  // iteration / every of the last refresh
  double last_acceptance_ = 0;
};

std::unique_ptr<TrajectorySource> make_replay_source(const YAML::Node& options, const Config& config,
                                                     const SourceContext& context);

}  // namespace tilt
