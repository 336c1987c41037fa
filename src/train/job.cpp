#include "train/job.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "io/run_files.h"
#include "io/hdf5_file.h"
#include "objective/mle.h"
#include "objective/rtb.h"
#include "objective/tb.h"
#include "train/rollout.h"

namespace tilt {
namespace {

// Checkpoint names of a network's parameters: "network/<module path>".
std::vector<NamedTensor> network_parameters(const FourierMlp& network) {
  std::vector<NamedTensor> out;
  for (const auto& item : network->named_parameters()) out.push_back({"network/" + item.key(), item.value()});
  return out;
}

// Copies "/parameters/<name>" of a checkpoint into each parameter, checking shapes.
void read_parameters(const io::H5File& file, const std::vector<NamedTensor>& parameters) {
  torch::NoGradGuard no_grad;
  for (const auto& parameter : parameters) {
    const at::Tensor stored = file.read("/parameters/" + parameter.name);
    if (stored.sizes() != parameter.tensor.sizes())
      throw Error("checkpoint '" + file.path().string() + "': parameter '" + parameter.name +
                  "' has a different shape than the config's network");
    parameter.tensor.copy_(stored);
  }
}

void read_parameters(const std::filesystem::path& checkpoint, const std::vector<NamedTensor>& parameters) {
  read_parameters(io::H5File::open_read(checkpoint), parameters);
}

// A frozen neural prior: the drift network of a finished mle run, without gradients.
std::unique_ptr<Drift> load_neural_prior(const Config& config) {
  const Config prior_config = load_config(config.prior.run_dir / run_files::kConfig);
  FourierMlp network(prior_config.dim(), prior_config.network);
  const std::vector<NamedTensor> parameters = network_parameters(network);
  read_parameters(config.prior.run_dir / run_files::kCheckpoint, parameters);
  for (const auto& parameter : parameters) parameter.tensor.set_requires_grad(false);
  return std::make_unique<NetworkDrift>(network);
}

}  // namespace

Job::Job(const Config& config)
    : config_(config),
      process_(config.process.steps, config.process.sigma2),
      target_(make_target(config)),
      rng_(config.seed),
      network_(nullptr) {
  // Network initialisation draws from LibTorch's generator; every rank seeds it the same way and
  // rank 0's values are broadcast anyway.
  torch::manual_seed(config.seed);
  network_ = FourierMlp(config.dim(), config.network);
  learned_ = std::make_unique<NetworkDrift>(network_);
  log_z_ = torch::zeros({}, torch::kFloat32).requires_grad_(true);
  const int chunk = config.train.score_chunk_steps;
  switch (config.objective) {
    case ObjectiveKind::kRtb:
      reference_ = config.prior.kind == PriorConfig::Kind::kExact
                       ? std::unique_ptr<Drift>(std::make_unique<MixtureFollmerDrift>(
                             GaussianMixture::isotropic(config.prior.mixture), config.process.sigma2))
                       : load_neural_prior(config);
      objective_ = std::make_unique<RtbObjective>(process_, network_, log_z_, config.train.beta,
                                                  config.train.log_reward_floor, chunk);
      break;
    case ObjectiveKind::kTb:
      objective_ = std::make_unique<TbObjective>(process_, network_, log_z_, chunk);
      break;
    case ObjectiveKind::kMle:
      objective_ = std::make_unique<MleObjective>(process_, network_, chunk);
      break;
  }
}

double Job::log_z() const { return log_z_.item<double>(); }

void Job::save(io::H5File& file, int step) const {
  for (const auto& parameter : parameters()) file.write("/parameters/" + parameter.name, parameter.tensor);
  file.write("/rng/seed", torch::tensor(static_cast<int64_t>(rng_.seed()), torch::kInt64));
  file.write("/rng/iteration", torch::tensor(static_cast<int64_t>(step), torch::kInt64));
}

void Job::load(const io::H5File& file) {
  const auto seed = static_cast<uint64_t>(file.read("/rng/seed").item<int64_t>());
  if (seed != rng_.seed())
    throw Error("checkpoint '" + file.path().string() + "' was written with seed " + std::to_string(seed) +
                ", the config has " + std::to_string(rng_.seed()));
  read_parameters(file, parameters());
}

std::vector<NamedTensor> Job::parameters() const {
  std::vector<NamedTensor> out = network_parameters(network_);
  if (has_log_z()) out.push_back({"log_z", log_z_});
  return out;
}

Adam Job::make_optimizer() const {
  std::vector<Adam::Group> groups{{network_parameters(network_), config_.train.lr}};
  if (has_log_z()) groups.push_back({{{"log_z", log_z_}}, config_.train.log_z_lr});
  return Adam(groups);
}

double Job::exploration_std(int iteration) const {
  const ExplorationConfig& e = config_.train.exploration;
  if (e.std == 0 || iteration >= e.decay_until) return 0.0;
  if (iteration < e.hold) return e.std;
  return e.std * (1.0 - static_cast<double>(iteration - e.hold) / (e.decay_until - e.hold));
}

Trajectory Job::training_batch(uint32_t iteration, const BatchShard& shard) const {
  if (config_.objective == ObjectiveKind::kMle) {
    const at::Tensor data = target_.truth.distribution.sample(rng_, iteration, shard.begin, shard.count);
    return rollout_backward(process_, data, *target_.log_reward, rng_, iteration, shard);
  }
  return rollout_forward(process_, config_.dim(), reference_.get(), *learned_, *target_.log_reward, rng_,
                         iteration, shard, exploration_std(static_cast<int>(iteration)));
}

Trajectory Job::sample(uint32_t draw, const BatchShard& shard) const {
  return rollout_forward(process_, config_.dim(), reference_.get(), *learned_, *target_.log_reward, rng_,
                         kSamplingDraws | draw, shard, 0.0);
}

void load_parameters(Job& job, const std::filesystem::path& checkpoint) {
  read_parameters(checkpoint, job.parameters());
}

}  // namespace tilt
