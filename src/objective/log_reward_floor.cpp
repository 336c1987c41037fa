#include "objective/log_reward_floor.h"

#include <torch/torch.h>

#include <cmath>

namespace tilt {

void LogRewardFloor::read(ConfigSection& section) {
  if (section.has("log_reward_floor")) value = section.require<double>("log_reward_floor");
  section.skip("log_reward_floor");
}

void LogRewardFloor::write(YAML::Node& out) const {
  if (value) out["log_reward_floor"] = yaml_number(*value);
}

at::Tensor LogRewardFloor::apply(const at::Tensor& log_reward) const {
  return value ? log_reward.clamp_min(static_cast<float>(*value)) : log_reward;
}

Metrics LogRewardFloor::metrics(const Trajectory& samples, const Target& target, const CounterRng& rng,
                                Communicator& comm) const {
  if (!value) return {};
  const double floor = *value;
  const int64_t rows = samples.batch();
  double counts[2] = {(samples.log_reward < floor).sum().item<double>(), static_cast<double>(rows)};
  comm.all_reduce_sum(counts, 2);
  Metrics out{{"floored_fraction", counts[0] / counts[1]}};
  const GroundTruth* truth = target.truth();
  if (!truth) return out;
  // As many exact samples as sampler rows; rank r takes the rows after those of ranks < r.
  std::vector<double> rows_of_rank(comm.size(), 0.0);
  rows_of_rank[comm.rank()] = static_cast<double>(rows);
  comm.all_reduce_sum(rows_of_rank.data(), rows_of_rank.size());
  int64_t row_begin = 0;
  for (int r = 0; r < comm.rank(); ++r) row_begin += static_cast<int64_t>(rows_of_rank[r]);
  const at::Tensor exact = truth->sample(rng, kExactSampleDraws | 1u, row_begin, rows);
  const at::Tensor excess = (floor - target.log_reward(exact).to(torch::kFloat64)).clamp_min(0.0);
  // log mean e^excess, stable for any excess: shifted by the global maximum.
  double largest = rows ? excess.max().item<double>() : 0.0;
  comm.all_reduce_max(&largest, 1);
  double sums[2] = {(excess > 0).sum().item<double>(), (excess - largest).exp().sum().item<double>()};
  comm.all_reduce_sum(sums, 2);
  out.emplace_back("floored_fraction_exact", sums[0] / counts[1]);
  out.emplace_back("floor_log_z_shift", largest + std::log(sums[1] / counts[1]));
  return out;
}

}  // namespace tilt
