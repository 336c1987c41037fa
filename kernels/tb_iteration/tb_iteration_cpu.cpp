#include "tb_iteration/tb_iteration_cpu.h"

#include <algorithm>

namespace tilt::kernels {

TbIterationCpu::TbIterationCpu(const TbIterationSpec& spec, const FourierMlpShape& shape,
                               const float* frequencies, const AnalyticTarget& target,
                               const float* network_parameters, float log_z)
    : spec_(spec), shape_(shape), target_(target), network_(shape, frequencies) {
  const int64_t count = fourier_mlp_parameter_count(shape);
  parameters_.assign(network_parameters, network_parameters + count);
  parameters_.push_back(log_z);
  gradients_.assign(parameters_.size(), 0.0f);
  first_moment_.assign(parameters_.size(), 0.0f);
  second_moment_.assign(parameters_.size(), 0.0f);
  const int64_t block = spec.rollout.batch * spec.rollout.dim, steps = spec.rollout.steps;
  states_.resize((steps + 1) * block);
  outputs_.resize(steps * block);
  output_gradients_.resize(steps * block);
  residuals_.resize(spec.rollout.batch);
  const float dt = spec.rollout.constants().dt;
  for (int k = 0; k < steps; ++k) times_.push_back(static_cast<float>(k) * dt);
}

TbIterationStats TbIterationCpu::residuals() {
  const PinnedStepConstants constants = spec_.rollout.constants();
  const int64_t batch = spec_.rollout.batch, d = spec_.rollout.dim, block = batch * d;
  const int steps = spec_.rollout.steps;
  const float log_z = parameters_.back();
  TbIterationStats stats;
  for (int64_t i = 0; i < batch; ++i) {
    PathTerms path;
    for (int k = 0; k < steps; ++k)
      pinned_step_terms(constants, k, states_.data() + k * block + i * d,
                        states_.data() + (k + 1) * block + i * d, outputs_.data() + k * block + i * d,
                        nullptr, path);
    const float residual = log_z + path.log_forward - path.log_backward -
                           analytic_log_reward(target_, states_.data() + steps * block + i * d);
    residuals_[i] = residual;
    stats.loss_sum += 0.5 * residual * residual;
    stats.residual_sum += residual;
    stats.residual_square_sum += static_cast<double>(residual) * residual;
  }
  return stats;
}

TbIterationStats TbIterationCpu::gradient_at_last_rollout() {
  const PinnedStepConstants constants = spec_.rollout.constants();
  const int64_t batch = spec_.rollout.batch, d = spec_.rollout.dim, block = batch * d;
  const int steps = spec_.rollout.steps;
  const TbIterationStats stats = residuals();
  const float inverse_batch = 1.0f / static_cast<float>(spec_.global_batch);
  for (int k = 0; k < steps; ++k)
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t j = 0; j < d; ++j) {
        const int64_t at = k * block + i * d + j;
        output_gradients_[at] =
            tb_output_gradient(residuals_[i] * inverse_batch, states_[at], states_[at + block], outputs_[at],
                               constants.dt, constants.sigma2);
      }
  std::fill(gradients_.begin(), gradients_.end(), 0.0f);
  network_.backward(states_.data(), times_.data(), steps, static_cast<int>(batch), output_gradients_.data(),
                    fourier_mlp_flat_view(gradients_.data(), shape_));
  gradients_.back() = static_cast<float>(stats.residual_sum) * inverse_batch;
  return stats;
}

double TbIterationCpu::loss_sum_at_last_rollout() {
  network_.set_weights(fourier_mlp_flat_view(static_cast<const float*>(parameters_.data()), shape_));
  network_.forward(states_.data(), times_.data(), spec_.rollout.steps, static_cast<int>(spec_.rollout.batch),
                   outputs_.data());
  return residuals().loss_sum;
}

TbIterationStats TbIterationCpu::step(uint32_t iteration, double exploration_std,
                                      const SumOverRanks& sum_over_ranks) {
  PinnedRolloutSpec rollout = spec_.rollout;
  rollout.iteration = iteration;
  rollout.exploration_std = exploration_std;
  network_.set_weights(fourier_mlp_flat_view(static_cast<const float*>(parameters_.data()), shape_));
  pinned_rollout_cpu(rollout, &network_, nullptr, states_.data(), nullptr, nullptr, outputs_.data());
  TbIterationStats stats = gradient_at_last_rollout();
  if (sum_over_ranks) {
    std::vector<float> summed(gradients_);
    summed.insert(summed.end(), {static_cast<float>(stats.loss_sum), static_cast<float>(stats.residual_sum),
                                 static_cast<float>(stats.residual_square_sum)});
    sum_over_ranks(summed.data(), static_cast<int64_t>(summed.size()));
    std::copy(summed.begin(), summed.begin() + gradients_.size(), gradients_.begin());
    const float* total = summed.data() + gradients_.size();
    stats = {total[0], total[1], total[2]};
  }
  ++adam_steps_;
  const AdamStep network_step = adam_step(spec_, spec_.network_lr, adam_steps_);
  const AdamStep log_z_step = adam_step(spec_, spec_.log_z_lr, adam_steps_);
  for (size_t p = 0; p < parameters_.size(); ++p)
    adam_update(p + 1 < parameters_.size() ? network_step : log_z_step, gradients_[p], parameters_[p],
                first_moment_[p], second_moment_[p]);
  return stats;
}

}  // namespace tilt::kernels
