#include "train/job.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "dist/gradient_sync.h"
#include "io/hdf5_file.h"
#include "io/run_files.h"
#include "model/gaussian_mixture.h"
#include "model/guidance_drift.h"
#include "model/langevin_drift.h"
#include "objective/registry.h"
#include "source/registry.h"
#include "train/checkpoint.h"

namespace tilt {
namespace {

// A frozen neural prior: the drift network of a finished data run, without gradients.
std::unique_ptr<Drift> load_neural_prior(const Config& config) {
  const Config prior_config = load_config(config.prior.run_dir / run_files::kConfig);
  auto drift = std::make_unique<NetworkDrift>(prior_config.dim(), prior_config.network);
  const std::vector<NamedTensor> parameters = prefixed("network", drift->parameters());
  read_parameters(io::H5File::open_read(config.prior.run_dir / run_files::kCheckpoint), parameters);
  for (const auto& parameter : parameters) parameter.tensor.set_requires_grad(false);
  return drift;
}

std::unique_ptr<Drift> make_reference(const Config& config) {
  if (config.task() != Task::kPosterior) return nullptr;
  if (config.prior.kind == PriorConfig::Kind::kNeural) return load_neural_prior(config);
  return std::make_unique<MixtureFollmerDrift>(GaussianMixture::isotropic(config.prior.mixture),
                                               config.process.sigma2, config.network.fused);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Job::Job(const Config& config)
    : config_(config),
      process_(make_process(config.process)),
      target_(make_target(config)),
      rng_(config.seed) {
  reference_ = make_reference(config);
  // Network initialisation draws from LibTorch's generator; every rank seeds it the same way and
  // rank 0's values are broadcast anyway.
  torch::manual_seed(config.seed);
  if (config.network.guidance) {
    const Target& target = *target_;
    policy_ = std::make_unique<GuidanceDrift>(
        [&target](const at::Tensor& x) { return target.grad_log_reward(x); }, *config.network.guidance,
        config.process.sigma2, 1.0 / config.process.steps);
  } else if (config.network.langevin) {
    const Target& target = *target_;
    policy_ = std::make_unique<LangevinDrift>(
        config.dim(), config.network, [&target](const at::Tensor& x) { return target.grad_log_reward(x); });
  } else {
    policy_ = std::make_unique<NetworkDrift>(config.dim(), config.network);
  }
  if (const auto& backward = config.network.learned_backward)
    backward_ = std::make_unique<LearnedBackward>(config.dim(), config.network, backward->scale_range);
  const ObjectiveContext objective_context{
      *process_,      *target_,       *policy_, reference_.get(), config.train.score_chunk_steps,
      config.network, backward_.get()};
  objective_ = find_objective_kind(config.objective.kind, "objective.kind")
                   .make(config.objective.options, objective_context);
  source_ = make_source(config, source_context());
}

SourceContext Job::source_context() const {
  return {*process_, *target_, *policy_, reference_.get(), rng_, config_.dim(), backward_.get()};
}

void Job::save(io::H5File& file, int step) const {
  write_parameters(file, parameters());
  source_->save(file);
  file.write("/rng/seed", torch::tensor(static_cast<int64_t>(rng_.seed()), torch::kInt64));
  file.write("/rng/iteration", torch::tensor(static_cast<int64_t>(step), torch::kInt64));
}

void Job::load(const io::H5File& file) {
  const auto seed = static_cast<uint64_t>(file.read("/rng/seed").item<int64_t>());
  if (seed != rng_.seed())
    throw Error("checkpoint '" + file.path().string() + "' was written with seed " + std::to_string(seed) +
                ", the config has " + std::to_string(rng_.seed()));
  read_parameters(file, parameters());
  source_->load(file);
}

std::vector<NamedTensor> Job::parameters() const {
  std::vector<NamedTensor> out = prefixed("network", policy_->parameters());
  if (backward_) {
    const std::vector<NamedTensor> backward = prefixed("backward", backward_->parameters());
    out.insert(out.end(), backward.begin(), backward.end());
  }
  for (const auto& group : objective_->parameter_groups())
    out.insert(out.end(), group.parameters.begin(), group.parameters.end());
  return out;
}

Adam Job::make_optimizer() const {
  std::vector<ParameterGroup> groups{{prefixed("network", policy_->parameters()), config_.train.lr}};
  if (backward_) groups.push_back({prefixed("backward", backward_->parameters()), config_.train.lr});
  for (const auto& group : objective_->parameter_groups()) groups.push_back(group);
  return Adam(groups);
}

Trajectory Job::sample(uint32_t draw, const BatchShard& shard) const {
  return sample_on_policy(source_context(), kSamplingDraws | draw, shard);
}

void load_parameters(Job& job, const std::filesystem::path& checkpoint) {
  read_parameters(io::H5File::open_read(checkpoint), job.parameters());
}

StepTotals train_step(Job& job, Adam& adam, GradientSync& sync, Communicator& comm, uint32_t iteration,
                      const BatchShard& shard, const std::vector<double>& flags, StepPhases* phases) {
  const auto phase_end = [&](double* seconds, std::chrono::steady_clock::time_point& start) {
    if (!phases) return;
    comm.barrier();
    *seconds += seconds_since(start);
    start = std::chrono::steady_clock::now();
  };
  auto start = std::chrono::steady_clock::now();
  adam.zero_grad();
  const Trajectory batch = job.source().next(iteration, shard, comm);
  phase_end(phases ? &phases->batch_s : nullptr, start);
  const LossStats local = job.objective().accumulate_gradients(batch, shard.total, comm);
  phase_end(phases ? &phases->gradients_s : nullptr, start);
  sync.all_reduce(adam.parameters(), comm);
  std::vector<double> totals{local.loss_sum, local.count};
  totals.insert(totals.end(), local.sums.begin(), local.sums.end());
  totals.insert(totals.end(), flags.begin(), flags.end());
  comm.all_reduce_sum(totals.data(), totals.size());
  StepTotals out;
  out.count = totals[1];
  out.loss = totals[0] / out.count;
  out.sums.assign(totals.begin() + 2, totals.begin() + 2 + static_cast<std::ptrdiff_t>(local.sums.size()));
  out.flags.assign(totals.end() - static_cast<std::ptrdiff_t>(flags.size()), totals.end());
  if (!std::isfinite(out.loss))
    throw Error("loss is not finite at iteration " + std::to_string(iteration) +
                " (lower train.lr or set objective.log_reward_floor); the last checkpoint is intact");
  adam.step(job.config().train.lr_scale(static_cast<int>(iteration)));
  phase_end(phases ? &phases->update_s : nullptr, start);
  return out;
}

}  // namespace tilt
