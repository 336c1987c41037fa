#include "mdm/mdm_data.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "data/density2d.h"
#include "data/image_set.h"
#include "data/logit_images.h"
#include "data/sample_metrics_2d.h"
#include "data/sharded_loader.h"
#include "dist/gather.h"

namespace tilt::mdm {
namespace {

// Held-out examples' noise (and, for 2-D data, the examples): a draw no training batch uses
// (training draws are the iteration numbers, far below) and the sample metrics' exact sets do not
// (kExactSampleDraws, + 1).
constexpr uint32_t kTestDraw = kExactSampleDraws | 2u;
constexpr int64_t kEvaluationChunk = 2048;
// The dequantisation's uniforms: the ELBO's noise stream, past its own steps 0-4.
constexpr uint32_t kDequantisationStep = 5;

// Per-example values summed over the examples of every rank, for means and standard errors.
class MeanEstimates {
 public:
  explicit MeanEstimates(size_t count) : sums_(2 * count, 0.0) {}
  void add(size_t index, const at::Tensor& values) {
    sums_[2 * index] += values.sum().item<double>();
    sums_[2 * index + 1] += values.square().sum().item<double>();
  }
  void reduce(Communicator& comm) { comm.all_reduce_sum(sums_.data(), static_cast<int>(sums_.size())); }
  double mean(size_t index, double n) const { return sums_[2 * index] / n; }
  double std_error(size_t index, double n) const {
    const double m = mean(index, n);
    return std::sqrt(std::max(0.0, (sums_[2 * index + 1] - n * m * m) / (n - 1)) / n);
  }

 private:
  std::vector<double> sums_;
};

// Calls `visit` on this rank's share of `examples` in chunks: parts of the global range.
void for_each_chunk(int64_t examples, Communicator& comm,
                    const std::function<void(const BatchShard&)>& visit) {
  const BatchShard shard = shard_batch(examples, comm.rank(), comm.size());
  for (int64_t offset = 0; offset < shard.count; offset += kEvaluationChunk)
    visit({examples, shard.begin + offset, std::min(kEvaluationChunk, shard.count - offset)});
}

class Density2dData final : public MdmData {
 public:
  explicit Density2dData(const MdmConfig& config)
      : config_(config), density_(data::make_density2d(config.data)) {}
  int dim() const override { return 2; }
  at::Tensor batch(const CounterRng& rng, uint32_t iteration, const BatchShard& shard) override {
    return density_->sample(rng, iteration, shard.begin, shard.count);
  }
  // The test ELBO (with the offset term, and without it) with standard errors over the held-out
  // exact samples, beside their exact mean log-likelihood.
  Metrics evaluate_elbo(const MdmModel& model, const CounterRng& rng, Communicator& comm) const override {
    torch::NoGradGuard no_grad;
    enum { kElbo, kNoOffset, kLogLikelihood };
    MeanEstimates estimates(3);
    for_each_chunk(config_.eval_examples, comm, [&](const BatchShard& part) {
      const at::Tensor x = density_->sample(rng, kTestDraw, part.begin, part.count);
      const at::Tensor no_offset = model.elbo(x, rng, kTestDraw, part);
      estimates.add(kElbo, no_offset + model.offset(x, rng, kTestDraw, part));
      estimates.add(kNoOffset, no_offset);
      estimates.add(kLogLikelihood, density_->log_density(x));
    });
    estimates.reduce(comm);
    const double n = static_cast<double>(config_.eval_examples);
    return {{"test_elbo", estimates.mean(kElbo, n)},
            {"test_elbo_std_error", estimates.std_error(kElbo, n)},
            {"test_elbo_no_offset", estimates.mean(kNoOffset, n)},
            {"test_elbo_no_offset_std_error", estimates.std_error(kNoOffset, n)},
            {"test_log_likelihood", estimates.mean(kLogLikelihood, n)},
            {"elbo_gap", estimates.mean(kLogLikelihood, n) - estimates.mean(kElbo, n)}};
  }
  Metrics evaluate_samples(const at::Tensor& rows, const CounterRng& rng, int64_t total, Communicator& comm,
                           at::Tensor* samples) const override {
    return data::sample_metrics_2d(rows, *density_, rng, total, comm, samples);
  }
  void write_samples(io::H5File& file, const at::Tensor& samples) const override {
    data::write_samples_2d(file, samples, *density_);
  }

 private:
  MdmConfig config_;
  std::unique_ptr<data::Density2d> density_;
};

class ImageData final : public MdmData {
 public:
  ImageData(const MdmConfig& config, Communicator& comm, bool verbose)
      : train_(pixel_rows(data::load_mnist_like(config.data_path, "train"), config.data_limit)),
        test_(pixel_rows(data::load_mnist_like(config.data_path, "t10k"), config.eval_examples)),
        side_(static_cast<int>(std::lround(std::sqrt(static_cast<double>(train_.size(1)))))),
        loader_(train_.size(0), config.batch, config.seed, comm.rank(), comm.size()) {
    if (verbose)
      std::printf("tilt: %s from %s: %lld training images, %lld test images (dequantised, logit)\n",
                  config.data.c_str(), config.data_path.c_str(), static_cast<long long>(train_.size(0)),
                  static_cast<long long>(test_.size(0)));
  }
  int dim() const override { return static_cast<int>(train_.size(1)); }
  at::Tensor batch(const CounterRng& rng, uint32_t iteration, const BatchShard& shard) override {
    return logits(train_.index_select(0, loader_.indices(iteration)), rng, iteration, shard).values;
  }
  // Bits per dimension on the test images (with the offset term, and without it), each with its
  // standard error over the images, and the test ELBO in nats of the logit space.
  Metrics evaluate_elbo(const MdmModel& model, const CounterRng& rng, Communicator& comm) const override {
    torch::NoGradGuard no_grad;
    enum { kBpd, kBpdNoOffset, kElbo };
    MeanEstimates estimates(3);
    const int64_t dim = test_.size(1);
    for_each_chunk(test_.size(0), comm, [&](const BatchShard& part) {
      const data::LogitImages y = logits(test_.narrow(0, part.begin, part.count), rng, kTestDraw, part);
      const at::Tensor no_offset = model.elbo(y.values, rng, kTestDraw, part);
      const at::Tensor elbo = no_offset + model.offset(y.values, rng, kTestDraw, part);
      estimates.add(kBpd, data::bits_per_dim(elbo, y.log_det, dim));
      estimates.add(kBpdNoOffset, data::bits_per_dim(no_offset, y.log_det, dim));
      estimates.add(kElbo, elbo);
    });
    estimates.reduce(comm);
    const double n = static_cast<double>(test_.size(0));
    return {{"test_bpd", estimates.mean(kBpd, n)},
            {"test_bpd_std_error", estimates.std_error(kBpd, n)},
            {"test_bpd_no_offset", estimates.mean(kBpdNoOffset, n)},
            {"test_bpd_no_offset_std_error", estimates.std_error(kBpdNoOffset, n)},
            {"test_elbo_logit_space", estimates.mean(kElbo, n)},
            {"test_images", n}};
  }
  // No sample metric for images (the BPD is the model's measure): the samples for grids.
  Metrics evaluate_samples(const at::Tensor& rows, const CounterRng&, int64_t total, Communicator& comm,
                           at::Tensor* samples) const override {
    const std::vector<float> gathered = gather_rows(data::images_from_logits(rows), comm);
    if (samples && comm.is_root())
      *samples = torch::from_blob(const_cast<float*>(gathered.data()), {total, rows.size(1)}, torch::kFloat32)
                     .clone();
    return {};
  }
  // /samples [N, D] in [-1, 1], /images uint8 [N, side, side] for grids.
  void write_samples(io::H5File& file, const at::Tensor& samples) const override {
    file.write("/samples", samples);
    file.write("/images", data::to_pixels(samples, side_, side_));
  }

 private:
  // Pixels 0..255 as float64 rows [N, D], the first `limit` images (0: all).
  static at::Tensor pixel_rows(const data::LabelledImages& set, int64_t limit) {
    const int64_t count = limit > 0 ? std::min(limit, set.size()) : set.size();
    return data::to_pixels(set.images.narrow(0, 0, count), set.height, set.width)
        .reshape({count, -1})
        .to(torch::kFloat64);
  }
  // Dequantised by uniforms drawn per global row of `draw` (iteration or the test draw).
  data::LogitImages logits(const at::Tensor& pixels, const CounterRng& rng, uint32_t draw,
                           const BatchShard& shard) const {
    return data::dequantised_logits(pixels, rng.uniform(RngStream::kMdmElbo, draw, kDequantisationStep,
                                                        shard.begin, shard.count, pixels.size(1)));
  }

  at::Tensor train_, test_;
  int side_;
  data::ShardedLoader loader_;  // the run's global batch over the training images
};

}  // namespace

std::unique_ptr<MdmData> make_mdm_data(const MdmConfig& config, Communicator& comm, bool verbose) {
  if (config.is_image_data()) return std::make_unique<ImageData>(config, comm, verbose);
  return std::make_unique<Density2dData>(config);
}

}  // namespace tilt::mdm
