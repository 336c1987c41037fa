// Subtrajectory balance SubTB(lambda) with a learned flow log F(x, t) (Sendera et al. eq. 12,
// research/rtb.md §1.2): for every pair of states m < n of a trajectory,
//   delta_mn = log F_m + sum_{k=m}^{n-1} step_term_k - log F_n,   log F_T := log R(x_T) (floored),
// loss = 1/2 mean_b sum_{m<n} w_mn delta_mn^2,  w_mn = lambda^{n-m} / sum_{m'<n'} lambda^{n'-m'}.
// forward_looking (FL-SubTB, eq. 13): log F(x_i, t_i) = NN(x_i, t_i) + (1 - t_i) log q_i(x_i) + t_i log
// R(x_i), q_i the reference process's marginal, so the network learns a correction to an interpolation. log Z
// is the flow at the initial state. Differences from the reference code: the loss is 1/2 a batch mean (the
// code sums without 1/2, ~600x larger at batch 300), and the forward-looking term is indexed the same way on
// backward trajectories (the code is one state late there). All pairs are scored at once:
// train.score_chunk_steps does not apply.
#pragma once

#include "core/config_section.h"
#include "model/fourier_mlp.h"
#include "objective/log_reward_floor.h"
#include "objective/objective.h"

namespace tilt {

struct SubTbOptions {
  double lambda = 2.0;    // subtrajectory weights lambda^length (the code's subtb_lambda)
  double flow_lr = 1e-2;  // Adam learning rate of the flow network
  bool forward_looking = false;
  LogRewardFloor floor;
  int max_length = 0;  // pairs with n - m > max_length weigh 0 (0: none); not a config key (db sets 1)
  static SubTbOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
  // The flow keys alone (flow_lr, forward_looking, log_reward_floor), shared with db.
  static SubTbOptions read_flow(ConfigSection& section);
  void write_flow(YAML::Node& out) const;
};

class SubtrajectoryBalance final : public Objective {
 public:
  SubtrajectoryBalance(const ObjectiveContext& context, const SubTbOptions& options);
  LossStats accumulate_gradients(const Trajectory& batch, int64_t global_batch, Communicator& comm) override;
  std::vector<ParameterGroup> parameter_groups() const override;
  std::optional<double> log_z() const override { return log_z_; }
  Metrics sample_metrics(const Trajectory& samples, const CounterRng& rng,
                         Communicator& comm) const override {
    return options_.floor.metrics(samples, target_, rng, comm);
  }

 private:
  // log F at states 0 .. T-1: [T, B], differentiable in the flow network.
  at::Tensor log_flow(const Trajectory& batch) const;

  SubTbOptions options_;
  mutable FourierMlp flow_;
  double log_z_ = 0;
};

std::unique_ptr<Objective> make_subtb(const YAML::Node& options, const ObjectiveContext& context);

}  // namespace tilt
