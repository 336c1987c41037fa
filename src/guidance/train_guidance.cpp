#include "guidance/train_guidance.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/cpu_setup.h"
#include "data/image_set.h"
#include "dist/gradient_sync.h"
#include "guidance/conditional_denoiser.h"
#include "guidance/exact_mixture.h"
#include "guidance/image_classes.h"
#include "guidance/samplers.h"
#include "guidance/scale_scan.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "train/checkpoint.h"
#include "train/method_loop.h"
#include "train/run_control.h"

namespace tilt::guidance {
namespace {

const char* const kStudyFile = "guidance_study.h5";
// Rows of the score error's Monte Carlo estimate (every rank its share).
constexpr int64_t kErrorRows = 8192;

// The score error's size relative to the class score's, both integrated over the sampler's times:
//   sqrt( int E_{p_t(.|z)} |e(x, t)|^2 dt / int E_{p_t(.|z)} |s(x, t | z)|^2 dt ),
// by exact class samples noised to each time of the grid (trapezoid rule in t).
double relative_score_error(const ExactMixture& data, int label, double size, const TimeGrid& grid,
                            const CounterRng& rng, Communicator& comm) {
  const BatchShard shard = shard_batch(kErrorRows, comm.rank(), comm.size());
  const at::Tensor clean = data.sample(rng, RngStream::kGuidance, 1, shard.begin, shard.count, label);
  const at::Tensor noise =
      rng.normal(RngStream::kGuidance, 1, 3, shard.begin, shard.count, data.dim()).to(torch::kFloat64);
  const std::vector<double> t = grid.times();
  double sums[2] = {0, 0};
  for (size_t k = 0; k < t.size(); ++k) {
    const double weight = ((k > 0 ? t[k - 1] - t[k] : 0.0) + (k + 1 < t.size() ? t[k] - t[k + 1] : 0.0)) / 2;
    const OuCoefficients ou = OuCoefficients::at(t[k]);
    const at::Tensor x = ou.mu * clean + std::sqrt(ou.variance) * noise;
    sums[0] += weight * (size * data.far_tail_pull(x, t[k], label)).square().sum().item<double>();
    sums[1] += weight * data.score(x, t[k], label).square().sum().item<double>();
  }
  comm.all_reduce_sum(sums, 2);
  return std::sqrt(sums[0] / sums[1]);
}

// The data a study samples and judges: an exact mixture or an image set's training split.
std::unique_ptr<ClassData> load_class_data(const GuidanceConfig& config) {
  if (!config.images.empty())
    return std::make_unique<ImageClasses>(data::load_mnist_like(config.images, "train"));
  return std::make_unique<ExactMixture>(ExactMixture::preset(config.mixture));
}

// A learned model's checkpoint continues only under the same data, model and training settings; the
// iteration count, the logging and checkpoint intervals and the sampling section (a rescan of a
// trained model) may change — all but t_min and t_max, which fix the network's time input and the
// range its training drew times from.
void check_resumable(const std::filesystem::path& checkpoint, const GuidanceConfig& config) {
  const io::H5File file = io::H5File::open_read(checkpoint);
  GuidanceConfig stored = parse_guidance_config(file.read_string("/meta/config"));
  if (stored.learned && config.learned) {
    stored.learned->iterations = config.learned->iterations;
    stored.learned->log_every = config.learned->log_every;
    stored.learned->checkpoint_every = config.learned->checkpoint_every;
  }
  const double t_min = stored.sampling.t_min, t_max = stored.sampling.t_max;
  stored.sampling = config.sampling;
  if (stored.learned) {
    stored.sampling.t_min = t_min;
    stored.sampling.t_max = t_max;
  }
  require_same_config(checkpoint, to_yaml(stored), to_yaml(config),
                      "training.iterations, training.log_every, training.checkpoint_every and sampling but "
                      "its t_min and t_max");
}

// Classifier-free guidance's model trained by denoising score matching on fresh samples every
// iteration — exact ones of a mixture, training images drawn with replacement — (RNG iteration 2 + i:
// the samples and their classes, steps 0-2; label dropout, 3; log-uniform times, 4; noise, 5),
// data-parallel over ranks, on the shared iteration loop.
TrainOutcome train_denoiser(ConditionalDenoiser& denoiser, const ClassData& data,
                            const GuidanceConfig& config, const std::string& resolved,
                            const TrainOptions& options, bool resuming, const CounterRng& rng,
                            Communicator& comm, bool verbose) {
  // SIGINT/SIGTERM stop training at the next iteration with a checkpoint; during the scan that
  // follows (nothing to save: a resumed run scans again) they act as usual.
  const StopSignals stop_signals;
  const DenoiserConfig& training = *config.learned;
  const SamplingConfig& sampling = config.sampling;
  TrainingTables tables{{{"step", "dsm_loss"}, {}}, {{"step", "iterations_per_s", "elapsed_s"}, {}}};
  int start = 0;
  if (resuming)
    start =
        load_method_checkpoint(options.run_dir, tables, [&](const io::H5File& file) { denoiser.load(file); });
  broadcast_parameters(tensors_of(denoiser.parameters()), comm);
  if (verbose) {
    const std::string network = training.network.kind == "unet"
                                    ? "U-Net C = " + std::to_string(training.network.channels)
                                    : "MLP " + std::to_string(training.network.mlp.hidden) + " x " +
                                          std::to_string(training.network.mlp.layers);
    std::printf(
        "tilt: training the conditional model (%s, label dropout %.2f): %d iterations at batch %lld\n",
        network.c_str(), training.label_dropout, training.iterations, static_cast<long long>(training.batch));
  }
  GradientSync sync;
  const std::vector<at::Tensor> parameters = tensors_of(denoiser.parameters());
  const double log_t_min = std::log(sampling.t_min), log_t_range = std::log(sampling.t_max) - log_t_min;
  const auto step = [&](int i) {
    const uint32_t iteration = 2 + static_cast<uint32_t>(i);
    const BatchShard shard = shard_batch(training.batch, comm.rank(), comm.size());
    at::Tensor labels;
    const at::Tensor x0 =
        data.sample(rng, RngStream::kGuidance, iteration, shard.begin, shard.count, -1, &labels)
            .to(torch::kFloat32);
    const at::Tensor dropped =
        rng.uniform(RngStream::kGuidance, iteration, 3, shard.begin, shard.count, 1).squeeze(1) <=
        training.label_dropout;
    labels = torch::where(dropped, torch::full_like(labels, denoiser.null_label()), labels);
    const at::Tensor t = torch::exp(
        log_t_min + log_t_range * rng.uniform(RngStream::kGuidance, iteration, 4, shard.begin, shard.count, 1)
                                      .squeeze(1)
                                      .to(torch::kFloat64));
    const at::Tensor noise =
        rng.normal(RngStream::kGuidance, iteration, 5, shard.begin, shard.count, data.dim());
    denoiser.optimizer().zero_grad();
    const at::Tensor loss =
        denoiser.loss_sum(x0, labels, t.to(torch::kFloat32), noise) / static_cast<double>(training.batch);
    loss.backward();
    sync.all_reduce(parameters, comm);
    denoiser.optimizer().step();
    double value = loss.item<double>();
    comm.all_reduce_sum(&value, 1);
    return value;
  };
  const auto save = [&](int done) {
    on_root_for_all(comm, "write the checkpoint", [&] {
      save_method_checkpoint(options.run_dir, done, comm.size(), resolved, tables,
                             [&](io::H5File& file) { denoiser.save(file); });
    });
  };
  return run_iterations(start, {training.iterations, training.log_every, training.checkpoint_every},
                        "dsm_loss", tables, options.run_dir, verbose, comm, step, save);
}

}  // namespace

TrainResult train_guidance(const GuidanceConfig& config, const TrainOptions& options, Communicator& comm) {
  configure_threads(cores_per_rank(comm));
  const std::string resolved = to_yaml(config);
  const bool verbose = comm.is_root() && !options.quiet;
  const CounterRng rng(config.seed);
  const PreparedRunDirectory run_directory(
      options, resolved, comm, [&](const std::filesystem::path& c) { check_resumable(c, config); });
  const std::unique_ptr<ClassData> data = load_class_data(config);
  const int label = config.guided_class;
  const SamplingConfig& sampling = config.sampling;
  if (verbose)
    std::printf(
        "tilt: guidance, %s, class %d, %s scores, %s, %lld samples x %d steps, %zu scales, %d ranks -> %s\n",
        config.images.empty() ? config.mixture.c_str() : config.images.c_str(), label,
        config.learned ? "learned" : "exact",
        sampling.sampler == SamplerKind::kProbabilityFlow ? "probability-flow ODE" : "reverse SDE",
        static_cast<long long>(sampling.samples), sampling.steps, sampling.scales.size(), comm.size(),
        options.run_dir.c_str());
  std::unique_ptr<ConditionalDenoiser> denoiser;
  if (config.learned) {
    torch::manual_seed(config.seed);  // the network's initial weights: the same on every rank and every run
    const auto [mean, variance] = data->moments();
    denoiser = std::make_unique<ConditionalDenoiser>(data->dim(), data->classes(), *config.learned,
                                                     sampling.t_min, sampling.t_max, mean, variance);
    const TrainOutcome outcome = train_denoiser(*denoiser, *data, config, resolved, options,
                                                run_directory.resuming(), rng, comm, verbose);
    if (outcome != TrainOutcome::kFinished) return {outcome, {}};
  }
  torch::NoGradGuard no_grad;
  const double error = config.score_error;
  // Exact scores: the config admits them for mixtures only.
  const auto* mixture = dynamic_cast<const ExactMixture*>(data.get());
  const GuidedScore score = [&](const at::Tensor& x, double t, double w) {
    if (denoiser) return denoiser->guided_score(x, t, label, w);
    at::Tensor guided = mixture->guided_score(x, t, label, w);
    // The error sits in the class score, which guidance multiplies by w + 1.
    if (error > 0) guided += (w + 1) * error * mixture->far_tail_pull(x, t, label);
    return guided;
  };
  ScanResult scan = scan_guidance_scales(*data, label, score, sampling, rng, comm, verbose);
  if (error > 0) {
    const double relative = relative_score_error(
        *mixture, label, error, TimeGrid{sampling.t_max, sampling.t_min, sampling.steps}, rng, comm);
    scan.metrics.emplace_back("score_error_relative_l2", relative);
    if (verbose)
      std::printf("tilt: the class score's error: %.4f of its L2 size over the sampler's times\n", relative);
  }
  if (verbose) {
    if (scan.prescribed_scale >= 0)
      std::printf("tilt: prescribed guidance scale %g (monotone mean trajectory, >= %.2f in support)\n",
                  scan.prescribed_scale, sampling.min_in_support);
    else
      std::printf("tilt: no scale qualifies: even w = %g fails the monotone or in-support test\n",
                  sampling.scales.front());
  }
  const int64_t kept = sampling.kept_samples;
  const at::Tensor reference = data->sample(rng, RngStream::kGuidance, 1, 0, kept, label).to(torch::kFloat32);
  const double sigma_end = std::sqrt(OuCoefficients::at(sampling.t_min).variance);
  on_root_for_all(comm, "write the study", [&] {
    io::write_atomically(options.run_dir / kStudyFile, [&](io::H5File& file) {
      for (const auto& [name, tensor] : scan.datasets) file.write(name, tensor);
      for (const auto& [name, tensor] : data->figure_data(sigma_end)) file.write(name, tensor);
      file.write("/class_samples", reference);
      file.write_string("/config", resolved);
    });
    write_final_metrics(options.run_dir, scan.metrics, verbose);
  });
  return {TrainOutcome::kFinished, scan.metrics};
}

}  // namespace tilt::guidance
