#include "source/replay.h"

#include <torch/torch.h>

#include "dist/gather.h"
#include "io/hdf5_file.h"
#include "source/rollout.h"

namespace tilt {

ReplayOptions ReplayOptions::read(ConfigSection& section) {
  ReplayOptions o;
  o.backward_every = section.get("backward_every", o.backward_every);
  require_at_least(o.backward_every, 2, section.key_path("backward_every"));
  o.capacity = section.get<int>("capacity", static_cast<int>(o.capacity));
  require_at_least(o.capacity, 1, section.key_path("capacity"));
  o.priority = parse_choice<ReplayPriority>(section.get<std::string>("priority", "rank"),
                                            {{"uniform", ReplayPriority::kUniform},
                                             {"reward", ReplayPriority::kReward},
                                             {"rank", ReplayPriority::kRank}},
                                            section.key_path("priority"));
  o.rank_k = section.get("rank_k", o.rank_k);
  require_positive(o.rank_k, section.key_path("rank_k"));
  if (section.has("local_search")) {
    ConfigSection local_search = section.section("local_search");
    o.local_search = LocalSearchOptions::read(local_search);
    local_search.finish();
  }
  section.skip("local_search");
  return o;
}

void ReplayOptions::write(YAML::Node& out) const {
  out["backward_every"] = backward_every;
  out["capacity"] = capacity;
  out["priority"] = priority == ReplayPriority::kUniform  ? "uniform"
                    : priority == ReplayPriority::kReward ? "reward"
                                                          : "rank";
  out["rank_k"] = yaml_number(rank_k);
  if (local_search) {
    YAML::Node node;
    local_search->write(node);
    out["local_search"] = node;
  }
}

ReplaySource::ReplaySource(const SourceContext& context, const ExplorationConfig& exploration,
                           const ReplayOptions& options)
    : context_(context),
      forward_(context, exploration),
      options_(options),
      buffer_(options.capacity, context.dim, options.priority, options.rank_k) {
  if (options.local_search) {
    local_search_ = std::make_unique<LocalSearch>(*options.local_search, context.target);
    local_search_buffer_ = std::make_unique<ReplayBuffer>(options.local_search->capacity, context.dim,
                                                          options.priority, options.rank_k);
  }
}

bool ReplaySource::is_backward(uint32_t iteration) const {
  return iteration % static_cast<uint32_t>(options_.backward_every) ==
         static_cast<uint32_t>(options_.backward_every - 1);
}

Trajectory ReplaySource::next(uint32_t iteration, const BatchShard& shard, Communicator& comm) {
  if (!is_backward(iteration) || buffer_.size() == 0) {
    Trajectory batch = forward_.next(iteration, shard, comm);
    // Every rank adds the global batch, in global row order: the buffers stay identical.
    const at::Tensor terminal = batch.states[batch.steps()];
    const at::Tensor rows = torch::cat({terminal, batch.log_reward.unsqueeze(1)}, 1);
    const at::Tensor all = all_gather_rows(rows, comm);
    buffer_.add(all.narrow(1, 0, context_.dim), all.select(1, context_.dim));
    return batch;
  }
  if (local_search_ && static_cast<int64_t>(iteration / options_.local_search->every) != refreshed_block_)
    refresh(iteration, shard, comm);
  const ReplayBuffer& source =
      local_search_buffer_ && local_search_buffer_->size() > 0 ? *local_search_buffer_ : buffer_;
  const at::Tensor drawn = source.draw(context_.rng, iteration, 0, shard.begin, shard.count);
  Trajectory batch = rollout_backward(context_.process, source.states(drawn), context_.rng, iteration, shard,
                                      context_.backward);
  batch.log_reward = source.log_reward(drawn);
  batch.origin = Trajectory::Origin::kReplayed;
  return batch;
}

void ReplaySource::refresh(uint32_t iteration, const BatchShard& shard, Communicator& comm) {
  refreshed_block_ = iteration / options_.local_search->every;
  const at::Tensor start = buffer_.states(buffer_.draw(context_.rng, iteration, 1, shard.begin, shard.count));
  const LocalSearch::Result found = local_search_->run(start, context_.rng, iteration, shard.begin, comm);
  last_acceptance_ = found.acceptance;
  // Gather (step, row, state) from all ranks and order by step then global row: the order one rank
  // would have produced, whatever the split.
  const at::Tensor rows = torch::cat({found.step_and_row.to(torch::kFloat32), found.states}, 1);
  const at::Tensor all = all_gather_rows(rows, comm);
  if (all.size(0) == 0) return;
  const at::Tensor key =
      all.select(1, 0).to(torch::kInt64) * shard.total + all.select(1, 1).to(torch::kInt64);
  const at::Tensor states = all.narrow(1, 2, context_.dim).index_select(0, std::get<1>(key.sort()));
  local_search_buffer_->add(states, context_.target.log_reward(states));
}

std::vector<std::string> ReplaySource::metric_names() const {
  std::vector<std::string> names{"exploration_std", "buffer_size"};
  if (local_search_)
    names.insert(names.end(),
                 {"local_search_buffer_size", "local_search_step_size", "local_search_acceptance"});
  return names;
}

std::vector<double> ReplaySource::metrics(uint32_t iteration) const {
  std::vector<double> values{forward_.exploration_std(iteration), static_cast<double>(buffer_.size())};
  if (local_search_)
    values.insert(values.end(), {static_cast<double>(local_search_buffer_->size()),
                                 local_search_->step_size(), last_acceptance_});
  return values;
}

void ReplaySource::save(io::H5File& file) const {
  buffer_.save(file, "/source/replay");
  if (!local_search_) return;
  local_search_buffer_->save(file, "/source/local_search");
  file.write("/source/local_search/step_size", torch::tensor(local_search_->step_size(), torch::kFloat64));
  file.write("/source/local_search/refreshed_block", torch::tensor(refreshed_block_, torch::kInt64));
  file.write("/source/local_search/acceptance", torch::tensor(last_acceptance_, torch::kFloat64));
}

void ReplaySource::load(const io::H5File& file) {
  buffer_.load(file, "/source/replay");
  if (!local_search_) return;
  local_search_buffer_->load(file, "/source/local_search");
  local_search_->set_step_size(file.read("/source/local_search/step_size").item<double>());
  refreshed_block_ = file.read("/source/local_search/refreshed_block").item<int64_t>();
  last_acceptance_ = file.read("/source/local_search/acceptance").item<double>();
}

std::unique_ptr<TrajectorySource> make_replay_source(const YAML::Node& options, const Config& config,
                                                     const SourceContext& context) {
  return std::make_unique<ReplaySource>(context, config.train.exploration,
                                        read_options<ReplayOptions>(options, "source"));
}

}  // namespace tilt
