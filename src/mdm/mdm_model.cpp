#include "mdm/mdm_model.h"

#include <torch/torch.h>

#include <cmath>

#include "train/checkpoint.h"

namespace tilt::mdm {

MdmModel::MdmModel(const MdmOptions& options, int dim, uint64_t seed)
    : options_(options),
      dim_(dim),
      process_(options.process, seed),
      network_(dxmi::make_noise_predictor(options.network, process_.variables() * dim, process_.variables())),
      adam_(std::make_unique<Adam>(std::vector<Adam::Group>{{parameters(), options.lr}})) {}

NoisePredictor MdmModel::predictor() const {
  return [this](const at::Tensor& y, const at::Tensor& t) { return network_->forward(y, t); };
}

std::vector<NamedTensor> MdmModel::parameters() const {
  std::vector<NamedTensor> out = prefixed("network", network_->parameters());
  for (const auto& parameter : process_.parameters()) out.push_back(parameter);
  return out;
}

at::Tensor MdmModel::elbo(const at::Tensor& x, const CounterRng& rng, uint32_t draw,
                          const BatchShard& shard) const {
  const int64_t k = process_.variables();
  const ElboNoise noise{rng.uniform(RngStream::kMdmElbo, draw, 0, shard.begin, shard.count, 1).view(-1),
                        rng.normal(RngStream::kMdmElbo, draw, 1, shard.begin, shard.count, k * dim_)
                            .view({shard.count, k, dim_}),
                        rng.normal(RngStream::kMdmElbo, draw, 2, shard.begin, shard.count, k * dim_)
                            .view({shard.count, k, dim_})};
  return mdm::elbo(process_, predictor(), x, noise, options_.t_min);
}

at::Tensor MdmModel::offset(const at::Tensor& x, const CounterRng& rng, uint32_t draw,
                            const BatchShard& shard) const {
  const int64_t k = process_.variables();
  const at::Tensor aux = rng.normal(RngStream::kMdmElbo, draw, 3, shard.begin, shard.count, (k - 1) * dim_)
                             .view({shard.count, k - 1, dim_});
  const at::Tensor state = rng.normal(RngStream::kMdmElbo, draw, 4, shard.begin, shard.count, k * dim_)
                               .view({shard.count, k, dim_});
  return offset_term(process_, predictor(), x, aux, state, options_.t_min);
}

double MdmModel::train_step(const at::Tensor& x, const CounterRng& rng, uint32_t iteration,
                            const BatchShard& shard, Communicator& comm) {
  const at::Tensor total = elbo(x, rng, iteration, shard).sum();
  const at::Tensor loss = -total / static_cast<double>(shard.total);
  adam_->zero_grad();
  loss.backward();
  const std::vector<at::Tensor> list = tensors_of(parameters());
  sync_.all_reduce(list, comm);
  if (options_.grad_clip > 0) {
    torch::NoGradGuard no_grad;
    double square = 0;
    for (const auto& p : list)
      if (p.grad().defined()) square += p.grad().to(torch::kFloat64).square().sum().item<double>();
    const double norm = std::sqrt(square);
    if (norm > options_.grad_clip)
      for (const auto& p : list)
        if (p.grad().defined()) p.mutable_grad().mul_(options_.grad_clip / norm);
  }
  adam_->step();
  double value = loss.item<double>();
  comm.all_reduce_sum(&value, 1);
  return value;
}

at::Tensor MdmModel::sample(const CounterRng& rng, uint32_t draw, const BatchShard& shard, int steps) const {
  torch::NoGradGuard no_grad;
  const int64_t k = process_.variables();
  const auto state_noise = [&](uint32_t step) {
    return rng.normal(RngStream::kMdmSampling, draw, step, shard.begin, shard.count, k * dim_)
        .to(torch::kFloat64)
        .view({shard.count, k, dim_});
  };
  // D^(1/2) once (symmetric PSD: eigenvalues clamped at 0): g(t) = sqrt(2 beta(t)) D^(1/2).
  const auto [values, vectors] = torch::linalg_eigh(process_.dissipation());
  const at::Tensor root =
      vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.transpose(0, 1));
  // The grid t_i = t_min + (1 - t_min) (i / steps)^2, i = 0..steps, and every step's matrices at once.
  const at::Tensor u = torch::arange(steps + 1, torch::kFloat64) / steps;
  const at::Tensor grid = options_.t_min + (1 - options_.t_min) * u * u;
  const at::Tensor cholesky = process_.transition(grid).cholesky;
  const at::Tensor drift = process_.drift_matrix(grid), diffusion = process_.diffusion_square(grid);
  const at::Tensor beta = options_.process.schedule.beta(grid);
  at::Tensor y = state_noise(0);
  const NoisePredictor eps = predictor();
  for (int i = steps; i >= 1; --i) {
    const double t = grid[i].item<double>(), h = t - grid[i - 1].item<double>();
    const at::Tensor predicted = eps(y.reshape({shard.count, k * dim_}).to(torch::kFloat32),
                                     torch::full({shard.count}, static_cast<float>(t)))
                                     .to(torch::kFloat64)
                                     .view({shard.count, k, dim_});
    // s = -L^-T eps_theta
    const at::Tensor score =
        -torch::linalg_solve_triangular(cholesky[i].transpose(0, 1), predicted, /*upper=*/true);
    y = y + h * (-drift[i].matmul(y) + diffusion[i].matmul(score));
    if (i > 1)
      y = y + std::sqrt(2 * beta[i].item<double>() * h) * root.matmul(state_noise(static_cast<uint32_t>(i)));
  }
  return y.select(1, 0).to(torch::kFloat32);
}

void MdmModel::save(io::H5File& file) const {
  write_parameters(file, parameters());
  adam_->save(file, "/optimizer/mdm");
}

void MdmModel::load(const io::H5File& file) {
  read_parameters(file, parameters());
  adam_->load(file, "/optimizer/mdm");
}

}  // namespace tilt::mdm
