// Run under `mpirun -np 2`: distributed training must equal single-process training.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "core/config.h"
#include "core/cpu_setup.h"
#include "data/density2d.h"
#include "data/sharded_loader.h"
#include "dist/communicator.h"
#include "dist/gather.h"
#include "dist/gradient_sync.h"
#include "dxmi/dxmi.h"
#include "dxmi/networks.h"
#include "guidance/train_guidance.h"
#include "mdm/mdm_config.h"
#include "mdm/mdm_data.h"
#include "mdm/mdm_model.h"
#include "source/replay.h"
#include "tb_iteration/tb_iteration_cpu.h"
#include "testing/gmm25.h"
#include "tn/train_tn.h"
#include "train/job.h"

namespace tilt {
namespace {

Communicator* g_world = nullptr;

const char* kConfig = R"(
objective: rtb
process: {steps: 12, sigma2: 5.0}
prior: {kind: exact, mixture: {preset: gmm25}}
reward: {kind: gaussian_likelihood, y: [-6, 2], noise_variance: 9}
network: {hidden: 32, fourier_features: 16, layers: 2}
train: {batch: 37, lr: 1.0e-2, exploration: {std: 0.3, hold: 3, decay_until: 8}}
)";

at::Tensor flat_gradients(const Job& job) {
  std::vector<at::Tensor> parts;
  for (const auto& p : job.parameters()) parts.push_back(p.tensor.grad().reshape(-1));
  return torch::cat(parts);
}

at::Tensor flat_parameters(const Job& job) {
  std::vector<at::Tensor> parts;
  for (const auto& p : job.parameters()) parts.push_back(p.tensor.detach().reshape(-1));
  return torch::cat(parts);
}

// K steps of training on `comm` with the trainer's own step; the global batch is split over its ranks.
void train_steps(Job& job, Adam& adam, Communicator& comm, int steps) {
  broadcast_parameters(adam.parameters(), comm);
  GradientSync sync;
  const BatchShard shard = shard_batch(job.config().train.batch, comm.rank(), comm.size());
  for (int step = 0; step < steps; ++step) train_step(job, adam, sync, comm, step, shard);
}

TEST(Distributed, RunsOnTwoRanks) { EXPECT_EQ(g_world->size(), 2); }

// The batch of 37 is split 19 + 18; the all-reduced gradient equals one rank's full-batch gradient.
TEST(Distributed, ShardedGradientsEqualFullBatchGradients) {
  const Config config = parse_config(kConfig, {}, ".");
  Job sharded(config);
  const BatchShard shard = shard_batch(37, g_world->rank(), g_world->size());
  sharded.objective().accumulate_gradients(sharded.source().next(0, shard, *g_world), 37, *g_world);
  std::vector<at::Tensor> parameters;
  for (const auto& p : sharded.parameters()) parameters.push_back(p.tensor);
  GradientSync sync;
  sync.all_reduce(parameters, *g_world);

  Job whole(config);
  LocalCommunicator alone;
  whole.objective().accumulate_gradients(whole.source().next(0, {37, 0, 37}, alone), 37, alone);
  const at::Tensor a = flat_gradients(sharded), b = flat_gradients(whole);
  EXPECT_GT(b.abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-6)) << "max difference " << (a - b).abs().max();
}

// VarGrad's batch log Z^ is reduced over ranks before the residuals: the sharded loss and gradient
// equal the whole batch's, which a per-rank mean would not give (shards of 19 and 18 trajectories).
// SubTB's flow network is trained on every rank's pairs alike.
TEST(Distributed, VarGradAndSubTbShardedGradientsEqualFullBatchGradients) {
  for (const char* objective : {"vargrad", "{kind: subtb, forward_looking: true}"}) {
    const Config config = parse_config(R"(
objective: vargrad
process: {steps: 12, sigma2: 5.0}
target: {kind: mixture, preset: gmm25}
network: {hidden: 32, fourier_features: 16, layers: 2}
train: {batch: 37, exploration: {std: 0.5}}
)",
                                       {std::string("objective=") + objective}, ".");
    Job sharded(config);
    const BatchShard shard = shard_batch(37, g_world->rank(), g_world->size());
    {
      // A non-zero policy, the same on every rank, so that the paths differ from the reference's.
      torch::NoGradGuard no_grad;
      torch::manual_seed(7);
      for (const auto& p : sharded.parameters()) p.tensor.add_(0.05 * torch::randn_like(p.tensor));
    }
    const LossStats local =
        sharded.objective().accumulate_gradients(sharded.source().next(0, shard, *g_world), 37, *g_world);
    std::vector<at::Tensor> parameters;
    for (const auto& p : sharded.parameters()) parameters.push_back(p.tensor);
    GradientSync().all_reduce(parameters, *g_world);
    double loss = local.loss_sum;
    g_world->all_reduce_sum(&loss, 1);

    Job whole(config);
    {
      torch::NoGradGuard no_grad;
      torch::manual_seed(7);
      for (const auto& p : whole.parameters()) p.tensor.add_(0.05 * torch::randn_like(p.tensor));
    }
    LocalCommunicator alone;
    const LossStats all =
        whole.objective().accumulate_gradients(whole.source().next(0, {37, 0, 37}, alone), 37, alone);
    EXPECT_NEAR(loss, all.loss_sum, 1e-4 * all.loss_sum);
    EXPECT_NEAR(*sharded.objective().log_z(), *whole.objective().log_z(), 1e-5);
    const at::Tensor a = flat_gradients(sharded), b = flat_gradients(whole);
    EXPECT_GT(b.abs().max().item<float>(), 0.0f);
    EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-6)) << objective << ": max difference " << (a - b).abs().max();
  }
}

// The fused engine on 2 ranks equals the LibTorch path on one rank, for every objective with a fused
// network: the states of a rollout (the fused kernel against LibTorch's step-by-step loop, with the
// same counter-based noise), the loss and every parameter's gradient. A non-zero policy first, so
// that every layer's gradient is exercised.
TEST(Distributed, FusedEngineOnTwoRanksEqualsTheLibTorchPathOnOne) {
  const char* sampler = R"(
process: {steps: 12, sigma2: 5.0}
target: {kind: mixture, preset: gmm25}
network: {hidden: 32, fourier_features: 16, layers: 2}
train: {batch: 37, exploration: {std: 0.3}}
)";
  const std::vector<std::pair<const char*, std::string>> cases{
      {kConfig, "rtb"},
      {sampler, "tb"},
      {sampler, "vargrad"},
      {sampler, "{kind: subtb, forward_looking: true}"},
      {sampler, "db"}};
  for (const auto& [yaml, objective] : cases) {
    const auto perturbed = [&](const std::string& engine) {
      auto job = std::make_unique<Job>(
          parse_config(yaml, {"objective=" + objective, "network.engine=" + engine}, "."));
      torch::NoGradGuard no_grad;
      torch::manual_seed(7);
      for (const auto& p : job->parameters()) p.tensor.add_(0.05 * torch::randn_like(p.tensor));
      return job;
    };
    const std::unique_ptr<Job> fused = perturbed("fused"), plain = perturbed("libtorch");
    const BatchShard shard = shard_batch(37, g_world->rank(), g_world->size());
    const Trajectory fused_batch = fused->source().next(1, shard, *g_world);
    const LossStats local = fused->objective().accumulate_gradients(fused_batch, 37, *g_world);
    std::vector<at::Tensor> parameters;
    for (const auto& p : fused->parameters()) parameters.push_back(p.tensor);
    GradientSync().all_reduce(parameters, *g_world);
    double loss = local.loss_sum;
    g_world->all_reduce_sum(&loss, 1);

    LocalCommunicator alone;
    const Trajectory plain_batch = plain->source().next(1, {37, 0, 37}, alone);
    const LossStats all = plain->objective().accumulate_gradients(plain_batch, 37, alone);
    // 12 steps of float rounding differences in the drift carried along the paths.
    const at::Tensor rows = plain_batch.states.narrow(1, shard.begin, shard.count);
    EXPECT_TRUE(torch::allclose(fused_batch.states, rows, 1e-4, 1e-4))
        << objective << ": states differ by " << (fused_batch.states - rows).abs().max();
    EXPECT_NEAR(loss, all.loss_sum, 1e-3 * all.loss_sum) << objective;
    const at::Tensor a = flat_gradients(*fused), b = flat_gradients(*plain);
    EXPECT_GT(b.abs().max().item<float>(), 0.0f);
    EXPECT_TRUE(torch::allclose(a, b, 1e-3, 1e-4 * b.abs().max().item<double>()))
        << objective << ": gradients differ by " << (a - b).abs().max() << " of " << b.abs().max();
  }
}

// The kernels' torch-free TB iteration (kernels/tb_iteration: the GPU engine's CPU oracle) on 2
// ranks, its gradients summed over MPI, equals tilt's `objective: tb` on the LibTorch path on one
// rank from the same parameters, for each analytic target: the same rollout (noise by global row),
// loss and gradients of the network and of log Z.
TEST(Distributed, KernelsTbIterationOnTwoRanksEqualsTiltsTbOnOne) {
  const kernels::Gmm25 gmm25;
  const std::vector<std::pair<std::string, kernels::AnalyticTarget>> targets{
      {"{kind: mixture, preset: gmm25}", kernels::mixture_target(gmm25.view(5.0f))},
      {"{kind: funnel, dim: 10, variance: 9.0}", kernels::funnel_target(10, 9.0f)},
      {"{kind: manywell, dim: 32}", kernels::manywell_target(32)}};
  for (const auto& [target_yaml, target] : targets) {
    Job job(parse_config(R"(
objective: tb
process: {steps: 12, sigma2: 5.0}
network: {hidden: 32, fourier_features: 16, layers: 2, engine: libtorch}
train: {batch: 37, exploration: {std: 0.3, hold: 5}}
)",
                         {"target=" + target_yaml}, "."));
    {
      torch::NoGradGuard no_grad;
      torch::manual_seed(7);
      for (const auto& p : job.parameters()) p.tensor.add_(0.05 * torch::randn_like(p.tensor));
    }
    LocalCommunicator alone;
    const LossStats tilt_stats =
        job.objective().accumulate_gradients(job.source().next(1, {37, 0, 37}, alone), 37, alone);

    std::map<std::string, at::Tensor> named;
    for (const auto& p : job.parameters()) named[p.name] = p.tensor;
    std::vector<std::string> names{"phase",         "time_in.weight",  "time_in.bias", "time_out.weight",
                                   "time_out.bias", "state_in.weight", "state_in.bias"};
    for (int l = 0; l < 2; ++l)
      for (const char* part : {".weight", ".bias"}) names.push_back("hidden" + std::to_string(l) + part);
    names.insert(names.end(), {"out.weight", "out.bias"});
    std::vector<float> parameters, expected;
    for (const auto& name : names) {
      const at::Tensor value = named.at("network/" + name).detach().contiguous().view(-1);
      const at::Tensor gradient = named.at("network/" + name).grad().contiguous().view(-1);
      parameters.insert(parameters.end(), value.data_ptr<float>(), value.data_ptr<float>() + value.numel());
      expected.insert(expected.end(), gradient.data_ptr<float>(),
                      gradient.data_ptr<float>() + gradient.numel());
    }
    expected.push_back(named.at("log_z").grad().item<float>());

    const kernels::FourierMlpShape shape{target.dim, 32, 16, 2, target.dim};
    ASSERT_EQ(static_cast<int64_t>(parameters.size()), kernels::fourier_mlp_parameter_count(shape));
    const at::Tensor frequencies = torch::linspace(0.1, 100.0, 16);  // FourierMlp's buffer
    const BatchShard shard = shard_batch(37, g_world->rank(), g_world->size());
    kernels::TbIterationSpec spec;
    spec.rollout.steps = 12;
    spec.rollout.batch = shard.count;
    spec.rollout.dim = target.dim;
    spec.rollout.sigma2 = 5.0f;
    spec.rollout.seed = job.rng().seed();
    spec.rollout.stream = static_cast<uint32_t>(RngStream::kRolloutNoise);
    spec.rollout.row_begin = shard.begin;
    spec.global_batch = 37;
    kernels::TbIterationCpu engine(spec, shape, frequencies.data_ptr<float>(), target, parameters.data(),
                                   named.at("log_z").item<float>());
    const kernels::TbIterationStats stats =
        engine.step(1, 0.3, [](float* values, int64_t count) { g_world->all_reduce_sum(values, count); });

    EXPECT_NEAR(stats.loss_sum, tilt_stats.loss_sum, 1e-3 * tilt_stats.loss_sum) << target_yaml;
    float largest = 0;
    for (float g : expected) largest = std::max(largest, std::abs(g));
    ASSERT_GT(largest, 0.0f);
    for (size_t p = 0; p < expected.size(); ++p)
      ASSERT_NEAR(engine.gradients()[p], expected[p], 1e-3f * std::abs(expected[p]) + 1e-4f * largest)
          << target_yaml << ": parameter " << p << " of " << expected.size();
  }
}

// Two DxMI iterations on 2 ranks equal one rank: data and sampler rows by global index, every loss a
// sum over the global batch, the velocity statistics and the energies' sums all-reduced.
// The same with images (8 x 8 rows of an image set through the sharded loader) and the U-Net and
// convolutional critics: GroupNorm normalises per image, so sharding rows changes nothing.
void expect_dxmi_iterations_on_two_ranks_equal_one(
    const dxmi::DxmiOptions& options, const dxmi::ArchitectureConfig& network, int dim,
    const std::function<at::Tensor(uint32_t, const BatchShard&, Communicator&)>& data) {
  const CounterRng rng(4);
  const int64_t batch = 24;
  const auto run = [&](Communicator& comm, const BatchShard& shard) {
    torch::manual_seed(3);  // initial weights, then a perturbation: the same in both runs
    auto model = std::make_unique<dxmi::Dxmi>(options, dim, 3, network);
    {
      torch::NoGradGuard no_grad;
      for (const auto& p : model->parameters()) p.tensor.add_(0.2 * torch::randn_like(p.tensor));
    }
    dxmi::Metrics metrics;
    for (uint32_t it = 0; it < 2; ++it)
      metrics = model->iteration(data(it, shard, comm), rng, it, shard, batch, comm);
    return std::make_pair(std::move(model), metrics);
  };
  const auto [sharded, sharded_metrics] = run(*g_world, shard_batch(batch, g_world->rank(), g_world->size()));
  LocalCommunicator alone;
  const auto [whole, whole_metrics] = run(alone, {batch, 0, batch});
  const std::vector<NamedTensor> a = sharded->parameters(), b = whole->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i].tensor, b[i].tensor, 1e-4, 1e-5))
        << a[i].name << ": max difference " << (a[i].tensor - b[i].tensor).abs().max();
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(sharded->velocity_scale()[k], whole->velocity_scale()[k], 1e-6 * whole->velocity_scale()[k]);
  for (size_t i = 0; i < whole_metrics.size(); ++i)
    EXPECT_NEAR(sharded_metrics[i].second, whole_metrics[i].second,
                1e-4 * (1 + std::abs(whole_metrics[i].second)))
        << whole_metrics[i].first;
}

TEST(Distributed, DxmiIterationsOnTwoRanksEqualOneRank) {
  dxmi::ArchitectureConfig network;
  network.mlp.hidden = 16;
  network.mlp.fourier_features = 8;
  network.mlp.layers = 1;
  network.critic_features.count = 8;  // the 2-D configs' critics read them
  dxmi::DxmiOptions options;
  options.guidance_scale = 0.5;  // value-guided rollouts: each row's gradient its own
  const CounterRng rng(4);
  const auto density = data::make_density2d("8gaussians");
  expect_dxmi_iterations_on_two_ranks_equal_one(options, network, 2,
                                                [&](uint32_t it, const BatchShard& shard, Communicator&) {
                                                  return density->sample(rng, it, shard.begin, shard.count);
                                                });
}

TEST(Distributed, DxmiImageIterationsOnTwoRanksEqualOneRank) {
  dxmi::ArchitectureConfig network;
  network.kind = "unet";
  network.channels = 4;
  torch::manual_seed(11);
  const at::Tensor images = torch::rand({60, 64}) * 2 - 1;
  expect_dxmi_iterations_on_two_ranks_equal_one(
      dxmi::DxmiOptions{}, network, 64, [&](uint32_t it, const BatchShard& shard, Communicator& comm) {
        return images.index_select(
            0, data::ShardedLoader(60, shard.total, 4, comm.rank(), comm.size()).indices(it));
      });
}

// A multivariate diffusion with learned Q and full D (float64 process parameters beside the float32
// network) takes the same Adam steps on 2 ranks as on one, and its reverse-SDE samples, split over
// ranks, are the one rank's rows.
TEST(Distributed, MdmStepsAndSamplesOnTwoRanksEqualOneRank) {
  mdm::MdmOptions options;
  options.process.kind = "learned";
  options.process.variables = 3;
  options.process.full_dissipation = true;
  options.network.mlp.hidden = 16;
  options.network.mlp.fourier_features = 8;
  options.network.mlp.layers = 1;
  options.grad_clip = 0.5;  // the clip reads the reduced gradient: binding here, the same on both
  const CounterRng rng(6);
  const auto density = data::make_density2d("checkerboard");
  const int64_t batch = 30, samples = 9;
  const auto run = [&](Communicator& comm) {
    torch::manual_seed(3);
    auto model = std::make_unique<mdm::MdmModel>(options, 2, 5);
    {
      torch::NoGradGuard no_grad;
      for (const auto& p : model->parameters()) p.tensor.add_(0.2 * torch::randn_like(p.tensor));
    }
    const BatchShard shard = shard_batch(batch, comm.rank(), comm.size());
    std::vector<double> losses;
    for (uint32_t it = 0; it < 3; ++it)
      losses.push_back(
          model->train_step(density->sample(rng, it, shard.begin, shard.count), rng, it, shard, comm));
    const at::Tensor drawn = model->sample(rng, 0, shard_batch(samples, comm.rank(), comm.size()), 20);
    return std::make_tuple(std::move(model), losses, all_gather_rows(drawn.contiguous(), comm));
  };
  const auto [sharded, sharded_losses, sharded_samples] = run(*g_world);
  LocalCommunicator alone;
  const auto [whole, whole_losses, whole_samples] = run(alone);
  for (size_t i = 0; i < whole_losses.size(); ++i)
    EXPECT_NEAR(sharded_losses[i], whole_losses[i], 1e-5 * (1 + std::abs(whole_losses[i]))) << "step " << i;
  const std::vector<NamedTensor> a = sharded->parameters(), b = whole->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i].tensor, b[i].tensor, 1e-4, 1e-5))
        << a[i].name << ": max difference " << (a[i].tensor - b[i].tensor).abs().max();
  EXPECT_TRUE(torch::allclose(sharded_samples, whole_samples, 1e-4, 1e-4))
      << (sharded_samples - whole_samples).abs().max();
}

// Images: the loader's batches, their dequantisation noise (by global row), the U-Net with K = 3
// channels and the test set's bits per dimension are the same on 2 ranks as on one.
TEST(Distributed, MdmImageStepsAndBitsPerDimOnTwoRanksEqualOneRank) {
  const mdm::MdmConfig config = mdm::parse_mdm_config(
      "method: mdm\n", {"data.name=fashion_mnist", "data.limit=64", "process.kind=malda",
                        "network.channels=4", "train.batch=10", "eval.examples=20"});
  const CounterRng rng(config.seed);
  const auto run = [&](Communicator& comm) {
    torch::manual_seed(2);
    const auto data = mdm::make_mdm_data(config, comm, false);
    mdm::MdmModel model(config.options, data->dim(), config.seed);
    const BatchShard shard = shard_batch(config.batch, comm.rank(), comm.size());
    std::vector<double> values;
    std::vector<at::Tensor> batches;
    for (uint32_t it = 0; it < 2; ++it) {
      const at::Tensor batch = data->batch(rng, it, shard);
      batches.push_back(all_gather_rows(batch.contiguous(), comm));
      values.push_back(model.train_step(batch, rng, it, shard, comm));
    }
    for (const auto& [name, value] : data->evaluate_elbo(model, rng, comm)) values.push_back(value);
    return std::make_pair(values, batches);
  };
  const auto [sharded, sharded_batches] = run(*g_world);
  LocalCommunicator alone;
  const auto [whole, whole_batches] = run(alone);
  // The same images with the same dequantisation noise, row for row.
  for (size_t it = 0; it < whole_batches.size(); ++it)
    EXPECT_TRUE(torch::equal(sharded_batches[it], whole_batches[it])) << "batch " << it;
  ASSERT_EQ(sharded.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i)
    EXPECT_NEAR(sharded[i], whole[i], 1e-5 * (1 + std::abs(whole[i]))) << "value " << i;
}

// Runs a method's job on every rank of g_world and alone on each rank, in fresh run directories, and
// compares the metrics name by name: |two ranks - one rank| <= tolerance(name, value), skipped where
// the tolerance is negative (wall times).
void expect_two_ranks_equal_one(const std::string& name,
                                const std::function<TrainResult(const TrainOptions&, Communicator&)>& train,
                                const std::function<double(const std::string&, double)>& tolerance) {
  int64_t pid = ::getpid();
  g_world->broadcast(&pid, sizeof(pid), 0);
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("tilt_" + name + "_" + std::to_string(pid));
  TrainOptions options{root / "two_ranks", StartMode::kFresh, true};
  const TrainResult sharded = train(options, *g_world);
  LocalCommunicator alone;
  options.run_dir = root / ("alone_" + std::to_string(g_world->rank()));
  const TrainResult whole = train(options, alone);
  ASSERT_EQ(sharded.metrics.size(), whole.metrics.size());
  for (size_t i = 0; i < whole.metrics.size(); ++i) {
    const auto& [metric, value] = whole.metrics[i];
    EXPECT_EQ(sharded.metrics[i].first, metric);
    const double allowed = tolerance(metric, value);
    if (allowed >= 0) {
      EXPECT_NEAR(sharded.metrics[i].second, value, allowed) << metric;
    }
  }
  g_world->barrier();
  if (g_world->is_root()) std::filesystem::remove_all(root);
}

double rounding(const std::string&, double value) { return 1e-9 * (1 + std::abs(value)); }

// The tensor-network job: the training chains (each rank its share, gathered), the MPS's data-parallel
// Adam steps and every scheme's chains (each rank its share, merged by global chain) give one rank's
// metrics — acceptance, autocorrelation times, energies, the MPS's likelihood and exact KL — to
// rounding (only the wall times differ).
TEST(Distributed, TnJobOnTwoRanksEqualsOneRank) {
  const tn::TnConfig config = tn::parse_tn_config(
      "method: tn\n",
      {"model.lx=4", "model.ly=4", "mps.bond=4", "mps.iterations=6", "mps.batch=30", "mps.training_chains=61",
       "mps.burn_in_sweeps=20", "mps.log_every=3", "mps.checkpoint_every=3", "chains.count=9",
       "chains.burn_in=2", "chains.steps=40", "chains.noise_times=[0.3]"});
  expect_two_ranks_equal_one(
      "tn",
      [&](const TrainOptions& options, Communicator& comm) { return tn::train_tn(config, options, comm); },
      [](const std::string& metric, double value) {
        return metric.find("seconds_per_step") == std::string::npos ? rounding(metric, value) : -1.0;
      });
}

// The guidance study: every rank samples its share of the rows (the same starting draws and SDE noise
// by global row) and the trajectories' moments, the shares and the kept samples are reduced or
// gathered, so 2 ranks give one rank's metrics to rounding; 301 rows do not split evenly.
TEST(Distributed, GuidanceJobOnTwoRanksEqualsOneRank) {
  const guidance::GuidanceConfig config = guidance::parse_guidance_config(
      "method: guidance\n",
      {"data.mixture=squares_2d", "model.score_error=0.05", "sampling.sampler=sde", "sampling.samples=301",
       "sampling.steps=30", "sampling.kept_samples=200", "sampling.scales=[0, 3, 15]"});
  expect_two_ranks_equal_one(
      "guidance",
      [&](const TrainOptions& options, Communicator& comm) {
        return guidance::train_guidance(config, options, comm);
      },
      rounding);
}

// Classifier-free guidance's learned model on 2 ranks: each rank trains on its share of every batch
// (the same samples, dropped labels, times and noise by global row) and the gradients are summed, so
// the network and then the scan match one rank's up to float32 summation order: moments to 1e-4,
// shares to a sample or two of 301.
TEST(Distributed, LearnedGuidanceJobOnTwoRanksEqualsOneRank) {
  const guidance::GuidanceConfig config = guidance::parse_guidance_config(
      "method: guidance\nmodel: {kind: learned, hidden: 16, layers: 1}\n",
      {"data.mixture=squares_2d", "training.iterations=5", "training.batch=77", "training.checkpoint_every=5",
       "sampling.samples=301", "sampling.steps=20", "sampling.t_min=0.001", "sampling.kept_samples=20",
       "sampling.scales=[0, 3]"});
  expect_two_ranks_equal_one(
      "learned_guidance",
      [&](const TrainOptions& options, Communicator& comm) {
        return guidance::train_guidance(config, options, comm);
      },
      [](const std::string& metric, double value) {
        return metric.find("fraction") != std::string::npos ? 2.5 / 301 : 1e-4 * (1 + std::abs(value));
      });
}

// The same on Fashion-MNIST with the conditional U-Net: the training images drawn by global row, and
// the class direction and far edge from the whole set on every rank; 9 rows do not split evenly.
TEST(Distributed, LearnedImageGuidanceJobOnTwoRanksEqualsOneRank) {
  const guidance::GuidanceConfig config = guidance::parse_guidance_config(
      "method: guidance\ndata: {images: /usr/share/datasets/fashion-mnist, class: 7}\n"
      "model: {kind: learned, channels: 4}\n",
      {"training.iterations=3", "training.batch=10", "training.checkpoint_every=3", "sampling.samples=9",
       "sampling.steps=4", "sampling.kept_samples=5", "sampling.scales=[0, 3]"});
  expect_two_ranks_equal_one(
      "image_guidance",
      [&](const TrainOptions& options, Communicator& comm) {
        return guidance::train_guidance(config, options, comm);
      },
      [](const std::string& metric, double value) {
        return metric.find("fraction") != std::string::npos ? 1.5 / 9 : 1e-4 * (1 + std::abs(value));
      });
}

// The replay buffer is replicated: 2 ranks hold the same buffer and local-search buffer as one rank
// and replay exactly the states one rank replays (bitwise: the policy is the zero drift at
// initialisation, so nothing depends on how a matrix product is split).
TEST(Distributed, ReplayAndLocalSearchReplayTheStatesOneRankReplays) {
  const Config config = parse_config(R"(
objective: tb
process: {steps: 10, sigma2: 5.0}
target: {kind: mixture, preset: gmm25}
source: {kind: replay, local_search: {every: 4, steps: 20, burn_in: 10}}
network: {hidden: 16, fourier_features: 8, layers: 1}
train: {batch: 37, exploration: {std: 0.3}}
)",
                                     {}, ".");
  Job sharded(config), whole(config);
  LocalCommunicator alone;
  const BatchShard shard = shard_batch(37, g_world->rank(), g_world->size());
  int replayed = 0;
  for (uint32_t iteration = 0; iteration < 8; ++iteration) {
    const Trajectory mine = sharded.source().next(iteration, shard, *g_world);
    const Trajectory all = whole.source().next(iteration, {37, 0, 37}, alone);
    const at::Tensor gathered = all_gather_rows(mine.states[mine.steps()], *g_world);
    EXPECT_TRUE(torch::equal(gathered, all.states[all.steps()])) << "iteration " << iteration;
    replayed += mine.origin == Trajectory::Origin::kReplayed;
  }
  EXPECT_EQ(replayed, 4);
  const auto& a = dynamic_cast<const ReplaySource&>(sharded.source());
  const auto& b = dynamic_cast<const ReplaySource&>(whole.source());
  EXPECT_EQ(a.buffer().size(), 37 * 4);
  ASSERT_GT(a.local_search_buffer()->size(), 0);
  EXPECT_EQ(a.local_search_buffer()->size(), b.local_search_buffer()->size());
  EXPECT_TRUE(
      torch::equal(a.local_search_buffer()->probabilities(), b.local_search_buffer()->probabilities()));
  EXPECT_EQ(a.metrics(7), b.metrics(7));
}

// After K Adam steps every rank holds bitwise the same parameters, and they match (to float
// tolerance) K single-process steps on the whole batch.
TEST(Distributed, ParametersStayIdenticalAcrossRanksAndMatchOneRank) {
  const Config config = parse_config(kConfig, {}, ".");
  Job job(config);
  Adam adam = job.make_optimizer();
  train_steps(job, adam, *g_world, 10);
  at::Tensor mine = flat_parameters(job).contiguous();
  at::Tensor root = mine.clone();
  g_world->broadcast(root.data_ptr(), root.numel() * sizeof(float), 0);
  EXPECT_EQ(std::memcmp(mine.data_ptr(), root.data_ptr(), root.numel() * sizeof(float)), 0);

  LocalCommunicator alone;
  Job reference(config);
  Adam reference_adam = reference.make_optimizer();
  train_steps(reference, reference_adam, alone, 10);
  const at::Tensor expected = flat_parameters(reference);
  EXPECT_TRUE(torch::allclose(mine, expected, 1e-3, 1e-5))
      << "max difference " << (mine - expected).abs().max();
}

TEST(Distributed, GatherConcatenatesInRankOrder) {
  const std::vector<float> local(g_world->rank() + 1, static_cast<float>(g_world->rank()));
  const std::vector<float> all = g_world->gather(local, 0);
  if (g_world->is_root())
    EXPECT_EQ(all, (std::vector<float>{0, 1, 1}));
  else
    EXPECT_TRUE(all.empty());
}

}  // namespace
}  // namespace tilt

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  ::testing::InitGoogleTest(&argc, argv);
  std::unique_ptr<tilt::Communicator> world = tilt::make_mpi_world();
  tilt::g_world = world.get();
  torch::set_num_threads(1);
  // Only rank 0 prints gtest's report; every rank's failures still fail the exit code.
  if (!world->is_root()) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0;
  double any_failed = failed;
  world->all_reduce_max(&any_failed, 1);
  return any_failed != 0;
}
