// The TB iteration (tb_iteration.h) on the CPU, through the fused network (FourierMlpCpu) and the
// pinned rollout: the oracle of the CUDA engine, and the engine of bench_kernels' TB row.
#pragma once

#include <functional>
#include <vector>

#include "fourier_mlp/fourier_mlp_cpu.h"
#include "tb_iteration/tb_iteration.h"

namespace tilt::kernels {

class TbIterationCpu {
 public:
  // Sums `count` floats over ranks in place (an MPI all-reduce); empty on one rank.
  using SumOverRanks = std::function<void(float* values, int64_t count)>;

  // `network_parameters`: fourier_mlp_parameter_count(shape) floats in fourier_mlp_flat_view's
  // layout; `target`'s arrays must outlive the engine.
  TbIterationCpu(const TbIterationSpec& spec, const FourierMlpShape& shape, const float* frequencies,
                 const AnalyticTarget& target, const float* network_parameters, float log_z);

  // Rollout `iteration` with exploration `exploration_std`, gradients (summed over ranks), Adam.
  TbIterationStats step(uint32_t iteration, double exploration_std, const SumOverRanks& sum_over_ranks = {});

  // Network parameters then log Z; their last gradients (summed over ranks) in the same layout.
  const std::vector<float>& parameters() const { return parameters_; }
  const std::vector<float>& gradients() const { return gradients_; }
  // The last rollout: states [T + 1, B, D] and network outputs [T, B, D].
  const std::vector<float>& states() const { return states_; }
  const std::vector<float>& outputs() const { return outputs_; }

  // The gradient of the TB loss at the current parameters for the last rollout's (fixed) states,
  // not summed over ranks: what step() feeds Adam, exposed for tests.
  TbIterationStats gradient_at_last_rollout();
  // The loss sum of the last rollout's states under the current parameters (tests' finite differences).
  double loss_sum_at_last_rollout();

 private:
  int64_t network_count() const { return static_cast<int64_t>(parameters_.size()) - 1; }
  TbIterationStats residuals();  // fills residuals_ from the network outputs' path terms

  TbIterationSpec spec_;
  FourierMlpShape shape_;
  AnalyticTarget target_;
  FourierMlpCpu network_;
  std::vector<float> parameters_, gradients_, first_moment_, second_moment_;
  std::vector<float> states_, outputs_, output_gradients_, residuals_, times_;
  int64_t adam_steps_ = 0;
};

}  // namespace tilt::kernels
