#include "dxmi/dxmi_data.h"

#include <torch/torch.h>

#include <cstdio>
#include <map>

#include "data/density2d.h"
#include "data/image_set.h"
#include "data/sample_metrics_2d.h"
#include "data/sharded_loader.h"
#include "dxmi/evaluate_2d.h"
#include "dxmi/evaluate_images.h"

namespace tilt::dxmi {
namespace {

class Density2dData final : public DxmiData {
 public:
  explicit Density2dData(const DxmiConfig& config)
      : config_(config), density_(data::make_density2d(config.data)) {}
  int dim() const override { return 2; }
  at::Tensor batch(const CounterRng& rng, uint32_t draw, const BatchShard& shard) override {
    return density_->sample(rng, draw, shard.begin, shard.count);
  }
  Metrics evaluate_prior(const DiffusionSampler& sampler, const CounterRng& rng, Communicator& comm,
                         at::Tensor* samples) override {
    return sample_metrics(sampler, {}, rng, comm, samples);
  }
  Metrics evaluate(const Dxmi& dxmi, const CounterRng& rng, Communicator& comm,
                   at::Tensor* samples) override {
    Metrics metrics =
        sample_metrics(dxmi.sampler(), dxmi.value_guidance(config_.eval.guidance_scale), rng, comm, samples);
    for (const auto& metric : evaluate_energy(dxmi, *density_)) metrics.push_back(metric);
    return metrics;
  }
  void write_samples(io::H5File& file, const at::Tensor& samples, const Dxmi* trained) const override {
    data::write_samples_2d(file, samples, *density_);
    if (trained == nullptr) return;
    torch::NoGradGuard no_grad;
    const at::Tensor energy = trained->energy(data::figure_grid_points().to(torch::kFloat32));
    file.write("/energy", energy.to(torch::kFloat64).reshape({data::kFigureGridSide, data::kFigureGridSide}));
  }

 private:
  Metrics sample_metrics(const DiffusionSampler& sampler, const StepGuidance& guidance, const CounterRng& rng,
                         Communicator& comm, at::Tensor* samples) const {
    torch::NoGradGuard no_grad;
    const BatchShard shard = shard_batch(config_.eval.samples, comm.rank(), comm.size());
    const at::Tensor terminal = sampler.rollout(rng, kSamplingDraws, shard, guidance)[sampler.steps()];
    return data::sample_metrics_2d(terminal, *density_, rng, config_.eval.samples, comm, samples);
  }

  DxmiConfig config_;
  std::unique_ptr<data::Density2d> density_;
};

class ImageData final : public DxmiData {
 public:
  ImageData(const DxmiConfig& config, Communicator& comm, bool verbose)
      : config_(config),
        all_classes_(first(data::load_mnist_like(config.data_path, "train"), config.data_limit)),
        train_(config.data_class >= 0 ? data::select_class(all_classes_, config.data_class) : all_classes_),
        test_(data::load_mnist_like(config.data_path, "t10k")),
        reference_(config.data_class >= 0 ? data::select_class(test_, config.data_class) : test_),
        classifier_(FeatureClassifier::obtain(config.eval.classifier, all_classes_, test_,
                                              config.eval.classifier_epochs, comm, verbose)),
        evaluation_(make_image_evaluation(classifier_, train_, reference_, test_, config.data_class,
                                          config.eval.samples)),
        rank_(comm.rank()),
        ranks_(comm.size()) {
    if (verbose)
      std::printf("tilt: %s from %s: %lld training images%s, %lld test images\n", config.data.c_str(),
                  config.data_path.c_str(), static_cast<long long>(train_.size()),
                  config.data_class >= 0 ? (" of class " + std::to_string(config.data_class)).c_str() : "",
                  static_cast<long long>(test_.size()));
  }
  int dim() const override { return train_.height * train_.width; }
  at::Tensor batch(const CounterRng& rng, uint32_t draw, const BatchShard& shard) override {
    auto loader = loaders_.find(shard.total);
    if (loader == loaders_.end())
      loader = loaders_
                   .emplace(shard.total,
                            data::ShardedLoader(train_.size(), shard.total, rng.seed(), rank_, ranks_))
                   .first;
    return train_.images.index_select(0, loader->second.indices(draw));
  }
  Metrics evaluate_prior(const DiffusionSampler& sampler, const CounterRng& rng, Communicator& comm,
                         at::Tensor* samples) override {
    at::Tensor all;
    Metrics metrics =
        evaluate_image_samples(sampler, evaluation_, rng, config_.eval.samples, kSamplingDraws, comm, &all);
    if (samples && comm.is_root()) *samples = all;
    // The prior's many-step quality: DDPM's own uniform stride.
    const DiffusionSampler reference =
        sampler.with_steps(config_.eval.reference_steps, TimeSpacing::kUniform);
    for (const auto& [name, value] :
         evaluate_image_samples(reference, evaluation_, rng, config_.eval.samples, kSamplingDraws, comm))
      if (name == "ffd" || name == "mmd") metrics.emplace_back("reference_" + name, value);
    return metrics;
  }
  Metrics evaluate(const Dxmi& dxmi, const CounterRng& rng, Communicator& comm,
                   at::Tensor* samples) override {
    at::Tensor all;
    Metrics metrics =
        evaluate_image_samples(dxmi.sampler(), evaluation_, rng, config_.eval.samples, kSamplingDraws, comm,
                               &all, dxmi.value_guidance(config_.eval.guidance_scale));
    for (const auto& metric : evaluate_image_energy(dxmi, evaluation_, all)) metrics.push_back(metric);
    if (samples && comm.is_root()) *samples = all;
    return metrics;
  }
  // /samples [N, D] in [-1, 1], /images uint8 [N, height, width] for grids.
  void write_samples(io::H5File& file, const at::Tensor& samples, const Dxmi*) const override {
    file.write("/samples", samples);
    file.write("/images", data::to_pixels(samples, train_.height, train_.width));
  }

 private:
  // The first `limit` examples (0: all).
  static data::LabelledImages first(data::LabelledImages set, int64_t limit) {
    if (limit > 0 && limit < set.size()) {
      set.images = set.images.narrow(0, 0, limit);
      set.labels = set.labels.narrow(0, 0, limit);
    }
    return set;
  }

  DxmiConfig config_;
  // all_classes_ trains the feature classifier; samples are compared with reference_ (the test
  // images of the trained class, or all), the energy's AUROC is over test_.
  data::LabelledImages all_classes_, train_, test_, reference_;
  FeatureClassifier classifier_;
  ImageEvaluation evaluation_;
  int rank_, ranks_;
  std::map<int64_t, data::ShardedLoader> loaders_;  // by global batch: the prior's and DxMI's
};

}  // namespace

std::unique_ptr<DxmiData> make_dxmi_data(const DxmiConfig& config, Communicator& comm, bool verbose) {
  if (!config.is_image_data()) return std::make_unique<Density2dData>(config);
  return std::make_unique<ImageData>(config, comm, verbose);
}

}  // namespace tilt::dxmi
