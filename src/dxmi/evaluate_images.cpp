#include "dxmi/evaluate_images.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "data/sharded_loader.h"
#include "dist/gather.h"
#include "dist/gradient_sync.h"
#include "dxmi/evaluate_2d.h"
#include "io/hdf5_file.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/progress.h"
#include "train/run_control.h"

namespace tilt::dxmi {
namespace {

constexpr int64_t kClassifierBatch = 128;
constexpr double kClassifierLr = 1e-3;
constexpr uint64_t kClassifierSeed = 0;
constexpr int64_t kEvaluationChunk = 500;  // rows per forward pass when scoring many images

// Runs `f` over row chunks of `x` without gradients and concatenates the results.
template <typename F>
at::Tensor chunked(const at::Tensor& x, F f) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < x.size(0); begin += kEvaluationChunk)
    parts.push_back(f(x.narrow(0, begin, std::min(kEvaluationChunk, x.size(0) - begin))));
  return torch::cat(parts);
}

// A symmetric positive semi-definite matrix's square root (eigenvalues clamped at 0: round-off).
at::Tensor psd_sqrt(const at::Tensor& m) {
  const auto [values, vectors] = torch::linalg_eigh(m);
  return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.transpose(0, 1));
}

}  // namespace

struct FeatureClassifier::Network : torch::nn::Module {
  Network(int height, int width)
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
        hidden(register_module("hidden", torch::nn::Linear(64 * (height / 4) * (width / 4), 128))),
        out(register_module("out", torch::nn::Linear(128, 10))),
        height(height),
        width(width) {}
  at::Tensor features(const at::Tensor& x) {
    at::Tensor h = x.reshape({x.size(0), 1, height, width});
    h = torch::max_pool2d(torch::relu(conv1(h)), 2);
    h = torch::max_pool2d(torch::relu(conv2(h)), 2);
    return torch::relu(hidden(h.flatten(1)));
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear hidden, out;
  int height, width;
};

FeatureClassifier::FeatureClassifier(int height, int width) {
  if (height % 4 != 0 || width % 4 != 0)
    throw Error("feature classifier: image sides must be divisible by 4");
  network_ = std::make_unique<Network>(height, width);
}
FeatureClassifier::~FeatureClassifier() = default;
FeatureClassifier::FeatureClassifier(FeatureClassifier&&) noexcept = default;

at::Tensor FeatureClassifier::features(const at::Tensor& images) const {
  return chunked(images, [&](const at::Tensor& x) { return network_->features(x); }).to(torch::kFloat64);
}

at::Tensor FeatureClassifier::logits(const at::Tensor& images) const {
  return chunked(images, [&](const at::Tensor& x) { return network_->out(network_->features(x)); });
}

FeatureClassifier FeatureClassifier::obtain(const std::filesystem::path& path,
                                            const data::LabelledImages& train,
                                            const data::LabelledImages& test, int epochs, Communicator& comm,
                                            bool verbose) {
  torch::manual_seed(kClassifierSeed);
  FeatureClassifier classifier(train.height, train.width);
  const std::vector<NamedTensor> parameters = named_parameters(*classifier.network_);
  // Rank 0 decides, so that every rank either reads or trains (collectives) even when another run
  // writes the file meanwhile.
  bool stored = comm.is_root() && std::filesystem::exists(path);
  comm.broadcast(&stored, sizeof(stored), 0);
  if (stored) {
    const io::H5File file = io::H5File::open_read(path);
    const int64_t examples = file.read("/meta/examples").item<int64_t>();
    const int64_t trained_epochs = file.read("/meta/epochs").item<int64_t>();
    if (examples != train.size() || trained_epochs != epochs)
      throw Error("feature classifier '" + path.string() + "' was trained on " + std::to_string(examples) +
                  " images for " + std::to_string(trained_epochs) + " epochs, this run asks for " +
                  std::to_string(train.size()) + " and " + std::to_string(epochs) +
                  ": name another eval.classifier file (runs compared by FFD must share one)");
    read_parameters(file, parameters);
    classifier.test_accuracy_ = file.read("/test_accuracy").item<double>();
    if (verbose)
      std::printf("tilt: feature classifier %s (test accuracy %.4f)\n", path.c_str(),
                  classifier.test_accuracy_);
    return classifier;
  }
  const data::ShardedLoader loader(train.size(), kClassifierBatch, kClassifierSeed, comm.rank(), comm.size());
  const int total = epochs * static_cast<int>(loader.batches_per_epoch());
  if (verbose)
    std::printf("tilt: training the feature classifier (%d epochs, %d iterations on %lld images) -> %s\n",
                epochs, total, static_cast<long long>(train.size()), path.c_str());
  Adam adam({{parameters, kClassifierLr}});
  GradientSync sync;
  const std::vector<at::Tensor> tensors = tensors_of(parameters);
  Progress progress(0, total, verbose);
  for (int step = 0; step < total; ++step) {
    const at::Tensor rows = loader.indices(step);
    const at::Tensor x = train.images.index_select(0, rows), y = train.labels.index_select(0, rows);
    const at::Tensor loss = torch::nn::functional::cross_entropy(
                                classifier.network_->out(classifier.network_->features(x)), y,
                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                            static_cast<double>(kClassifierBatch);
    adam.zero_grad();
    loss.backward();
    sync.all_reduce(tensors, comm);
    adam.step();
    progress.update(step, loss.item<double>(), std::nullopt, 100);
  }
  progress.finish();
  classifier.test_accuracy_ =
      (classifier.logits(test.images).argmax(1) == test.labels).to(torch::kFloat64).mean().item<double>();
  if (verbose) std::printf("tilt: feature classifier test accuracy %.4f\n", classifier.test_accuracy_);
  on_root_for_all(comm, "write the feature classifier", [&] {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    io::write_atomically(path, [&](io::H5File& file) {
      write_parameters(file, parameters);
      file.write("/meta/examples", torch::tensor(train.size(), torch::kInt64));
      file.write("/meta/epochs", torch::tensor(static_cast<int64_t>(epochs), torch::kInt64));
      file.write("/test_accuracy", torch::tensor(classifier.test_accuracy_, torch::kFloat64));
    });
  });
  return classifier;
}

double frechet_distance(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  const at::Tensor mean_x = x.mean(0), mean_y = y.mean(0);
  const at::Tensor cov_x = torch::cov(x.transpose(0, 1)), cov_y = torch::cov(y.transpose(0, 1));
  const at::Tensor root_x = psd_sqrt(cov_x);
  const at::Tensor middle = root_x.matmul(cov_y).matmul(root_x);
  const double cross = torch::linalg_eigvalsh(0.5 * (middle + middle.transpose(0, 1)))
                           .clamp_min(0)
                           .sqrt()
                           .sum()
                           .item<double>();
  return (mean_x - mean_y).square().sum().item<double>() + cov_x.trace().item<double>() +
         cov_y.trace().item<double>() - 2 * cross;
}

double mmd_squared(const at::Tensor& x, const at::Tensor& y, double length_scale) {
  const at::Tensor a = x.to(torch::kFloat64), b = y.to(torch::kFloat64);
  const double n = static_cast<double>(a.size(0)), m = static_cast<double>(b.size(0));
  const double denominator = 2.0 * static_cast<double>(a.size(1)) * length_scale * length_scale;
  const auto kernel = [&](const at::Tensor& u, const at::Tensor& v) {
    return torch::exp(-torch::cdist(u, v).square() / denominator);
  };
  const double xx = (kernel(a, a).sum().item<double>() - n) / (n * (n - 1));
  const double yy = (kernel(b, b).sum().item<double>() - m) / (m * (m - 1));
  const double xy = kernel(a, b).mean().item<double>();
  return xx + yy - 2 * xy;
}

ImageEvaluation make_image_evaluation(const FeatureClassifier& classifier, const data::LabelledImages& train,
                                      const data::LabelledImages& reference, const data::LabelledImages& test,
                                      int trained_class, int64_t samples) {
  const int64_t n = std::min({samples, reference.size(), train.size()});
  const at::Tensor compared = reference.images.narrow(0, 0, n), train_images = train.images.narrow(0, 0, n);
  const at::Tensor features = classifier.features(compared);
  return {&classifier,
          &test,
          trained_class,
          compared,
          features,
          frechet_distance(classifier.features(train_images), features),
          mmd_squared(train_images, compared)};
}

Metrics evaluate_image_samples(const DiffusionSampler& sampler, const ImageEvaluation& evaluation,
                               const CounterRng& rng, int64_t samples, uint32_t draw, Communicator& comm,
                               at::Tensor* gathered, const StepGuidance& guidance) {
  const BatchShard shard = shard_batch(samples, comm.rank(), comm.size());
  // This rank's rows in chunks (a rollout holds all T + 1 states of its rows).
  std::vector<at::Tensor> parts;
  for (int64_t offset = 0; offset < shard.count; offset += kEvaluationChunk) {
    const BatchShard part{samples, shard.begin + offset, std::min(kEvaluationChunk, shard.count - offset)};
    parts.push_back(sampler.rollout(rng, draw, part, guidance)[sampler.steps()]);
  }
  const at::Tensor mine =
      parts.empty() ? torch::empty({0, sampler.dim()}, torch::kFloat32) : torch::cat(parts);
  const at::Tensor all = all_gather_rows(mine.contiguous(), comm).clamp(-1, 1);
  if (gathered) *gathered = all;
  return {{"ffd", frechet_distance(evaluation.classifier->features(all), evaluation.reference_features)},
          {"ffd_train_vs_test", evaluation.ffd_floor},
          {"mmd", mmd_squared(all, evaluation.reference)},
          {"mmd_train_vs_test", evaluation.mmd_floor},
          {"pixel_mean", all.mean().item<double>()},
          {"pixel_std", all.std().item<double>()}};
}

Metrics evaluate_image_energy(const Dxmi& dxmi, const ImageEvaluation& evaluation,
                              const at::Tensor& samples) {
  const at::Tensor test_energy =
      chunked(evaluation.test->images, [&](const at::Tensor& x) { return dxmi.energy(x); });
  const at::Tensor sample_energy = chunked(samples, [&](const at::Tensor& x) { return dxmi.energy(x); });
  Metrics out;
  at::Tensor reference = test_energy;
  if (evaluation.trained_class >= 0) {
    const at::Tensor normal = evaluation.test->labels == evaluation.trained_class;
    out.emplace_back("auroc_anomaly", auroc(-test_energy.index({normal}).to(torch::kFloat64),
                                            -test_energy.index({~normal}).to(torch::kFloat64)));
    reference = test_energy.index({normal});
  }
  out.emplace_back("energy_gap", sample_energy.mean().item<double>() - reference.mean().item<double>());
  return out;
}

}  // namespace tilt::dxmi
