#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/config.h"
#include "core/error.h"
#include "model/fourier_mlp.h"
#include "model/gaussian_mixture.h"
#include "model/learned_backward.h"
#include "objective/detailed_balance.h"
#include "objective/log_reward_floor.h"
#include "objective/pis.h"
#include "objective/reinforce_kl.h"
#include "objective/subtrajectory_balance.h"
#include "objective/trajectory_balance.h"
#include "objective/vargrad.h"
#include "process/pinned_brownian.h"
#include "source/differentiable.h"
#include "source/rollout.h"
#include "target/mixture.h"
#include "target/posterior.h"

namespace tilt {
namespace {

// u(x, t) = c for a trainable c [D]: losses of paths under it have closed forms.
class ConstantDrift final : public Drift {
 public:
  explicit ConstantDrift(at::Tensor c) : c_(c.requires_grad_(true)) {}
  at::Tensor operator()(const at::Tensor& x, const at::Tensor&) const override { return c_.expand_as(x); }
  std::vector<NamedTensor> parameters() const override { return {{"c", c_}}; }
  const at::Tensor& c() const { return c_; }

 private:
  at::Tensor c_;
};

// u(x, t) = c with a learned log-variance factor w, both trainable scalars.
class ConstantKernel final : public Drift {
 public:
  ConstantKernel(double c, double w)
      : c_(torch::tensor({static_cast<float>(c)}).requires_grad_(true)),
        w_(torch::tensor({static_cast<float>(w)}).requires_grad_(true)) {}
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const override {
    return kernel(x, t).drift;
  }
  StepKernel kernel(const at::Tensor& x, const at::Tensor&) const override {
    return {c_.expand_as(x), w_.expand_as(x)};
  }
  std::vector<NamedTensor> parameters() const override { return {{"c", c_}, {"w", w_}}; }
  const at::Tensor& c() const { return c_; }
  const at::Tensor& w() const { return w_; }

 private:
  at::Tensor c_, w_;
};

// A target whose log R is given per call (tests set it on the trajectory directly).
class UnusedTarget final : public Target {
 public:
  int64_t dim() const override { return 1; }
  at::Tensor log_reward(const at::Tensor& x) const override { return torch::zeros({x.size(0)}); }
  const GroundTruth* truth() const override { return nullptr; }
};

MixtureConfig gmm25() {
  return parse_config(
             "objective: rtb\nprior: {kind: exact, mixture: {preset: gmm25}}\n"
             "reward: {kind: gaussian_likelihood, y: [0, 0], noise_variance: 1}\n",
             {}, ".")
      .prior.mixture;
}

// Three 1-D trajectories of T = 2 steps with hand-picked states and log R.
Trajectory tiny_batch(const Process& process) {
  Trajectory batch;
  batch.states = torch::tensor({0.0f, 0.0f, 0.0f, 0.4f, -0.3f, 1.1f, 1.0f, -0.9f, 0.7f}).view({3, 3, 1});
  batch.times = process.time_grid();
  batch.log_reward = torch::tensor({-1.0f, 0.5f, -2.0f});
  return batch;
}

double log_normal(double x, double mean, double variance) {
  return -0.5 * (x - mean) * (x - mean) / variance - 0.5 * std::log(2 * M_PI * variance);
}

// The tiny batch under the constant drift c = 0.3 with s2 = 2, dt = 1/2, and its two step terms
// log p_F - log p_B by hand: s_0 = log N(x_1; dt c, dt s2) (p_B(x_0 | x_1) = 1),
// s_1 = log N(x_2; x_1 + dt c, dt s2) - log N(x_1; x_2 / 2, dt s2 / 2).
struct TinyCase {
  double s2 = 2.0, dt = 0.5, c = 0.3;
  PinnedBrownian process{2, 2.0};
  UnusedTarget target;
  ConstantDrift policy{torch::tensor({0.3f})};
  Trajectory batch = tiny_batch(process);
  std::pair<double, double> step_terms(int b) const {
    const double x1 = batch.states[1][b][0].item<double>(), x2 = batch.states[2][b][0].item<double>();
    return {log_normal(x1, dt * c, dt * s2),
            log_normal(x2, x1 + dt * c, dt * s2) - log_normal(x1, 0.5 * x2, 0.5 * dt * s2)};
  }
};

// TB by hand: residual_b = log Z + sum_i [log N(x_{i+1}; x_i + dt c, dt s2) - log p_B(x_i | x_{i+1})] - log
// R_b, with p_B(x_1 | x_2) = N(x_2 / 2, dt s2 / 2) and p_B(x_0 | x_1) = 1; loss = mean of residual^2 / 2, d
// loss / d log Z = mean residual, d loss / d c = mean residual_b * sum_i (x_{i+1} - x_i - dt c) / s2.
TEST(TrajectoryBalance, LossAndGradientsMatchTheHandComputedValues) {
  const double s2 = 2.0, dt = 0.5, c = 0.3, log_z = 0.7;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  TrajectoryBalance tb({process, target, policy, nullptr, 0, {}}, {});
  tb.parameter_groups()[0].parameters[0].tensor.data().fill_(static_cast<float>(log_z));
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  const LossStats stats = tb.accumulate_gradients(batch, batch.batch(), comm);

  double loss = 0, grad_log_z = 0, grad_c = 0;
  for (int b = 0; b < 3; ++b) {
    const double x0 = 0, x1 = batch.states[1][b][0].item<double>(), x2 = batch.states[2][b][0].item<double>();
    const double path = log_normal(x1, x0 + dt * c, dt * s2) + log_normal(x2, x1 + dt * c, dt * s2) -
                        log_normal(x1, 0.5 * x2, 0.5 * dt * s2);
    const double residual = log_z + path - batch.log_reward[b].item<double>();
    loss += 0.5 * residual * residual / 3;
    grad_log_z += residual / 3;
    grad_c += residual * ((x1 - x0 - dt * c) + (x2 - x1 - dt * c)) / s2 / 3;
  }
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss));
  EXPECT_NEAR(tb.parameter_groups()[0].parameters[0].tensor.grad().item<double>(), grad_log_z, 1e-5);
  EXPECT_NEAR(policy.c().grad().item<double>(), grad_c, 1e-5 * (1 + std::abs(grad_c)));
}

// TB with a learned variance by hand: the forward kernel is N(x_i + dt c, dt s2 e^w), so
// d log p_F / d w = -1/2 + (x_{i+1} - x_i - dt c)^2 e^{-w} / (2 dt s2) per step.
TEST(TrajectoryBalance, LearnedVarianceLossAndGradientsMatchTheHandComputedValues) {
  const double s2 = 2.0, dt = 0.5, c = 0.3, w = -0.6, log_z = 0.2;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantKernel policy(c, w);
  TrajectoryBalance tb({process, target, policy, nullptr, 0, {}}, {});
  tb.parameter_groups()[0].parameters[0].tensor.data().fill_(static_cast<float>(log_z));
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  const LossStats stats = tb.accumulate_gradients(batch, batch.batch(), comm);

  const double variance = dt * s2 * std::exp(w);
  double loss = 0, grad_c = 0, grad_w = 0;
  for (int b = 0; b < 3; ++b) {
    const double x1 = batch.states[1][b][0].item<double>(), x2 = batch.states[2][b][0].item<double>();
    const double e0 = x1 - dt * c, e1 = x2 - x1 - dt * c;
    const double path = log_normal(x1, dt * c, variance) + log_normal(x2, x1 + dt * c, variance) -
                        log_normal(x1, 0.5 * x2, 0.5 * dt * s2);
    const double residual = log_z + path - batch.log_reward[b].item<double>();
    loss += 0.5 * residual * residual / 3;
    grad_c += residual * (e0 + e1) * dt / variance / 3;
    grad_w += residual * (-1.0 + 0.5 * (e0 * e0 + e1 * e1) / variance) / 3;
  }
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss));
  EXPECT_NEAR(policy.c().grad().item<double>(), grad_c, 1e-5 * (1 + std::abs(grad_c)));
  EXPECT_NEAR(policy.w().grad().item<double>(), grad_w, 1e-5 * (1 + std::abs(grad_w)));
}

// TB with a learned backward kernel at initialisation (factors 1: the loss is the fixed bridge's) sends
// gradients to the backward network's output biases a (shrink) and b (variance) by hand: with
// m = 1 + range tanh(a), f = 1 + range tanh(b), step 1 of the tiny batch has
//   log p_B(x_1 | x_2) = log N(x_1; x_2 - x_2 m / 2, V f),  V = dt s2 / 2,
//   d/da = range (x_1 - mu) (-x_2 / 2) / V,  d/db = range (-1/2 + (x_1 - mu)^2 / (2 V)),
// and the path is log p_F - log p_B, so d loss / d a = -mean_b residual_b d log p_B / d a.
TEST(TrajectoryBalance, LearnedBackwardGradientsMatchTheHandComputedValues) {
  const double s2 = 2.0, dt = 0.5, c = 0.3, log_z = 0.7, range = 0.5;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  const LearnedBackward backward(1, NetworkConfig{}, range);
  TrajectoryBalance tb({process, target, policy, nullptr, 0, {}, &backward}, {});
  tb.parameter_groups()[0].parameters[0].tensor.data().fill_(static_cast<float>(log_z));
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  const LossStats stats = tb.accumulate_gradients(batch, batch.batch(), comm);
  const double v = 0.5 * dt * s2;
  double loss = 0, grad_a = 0, grad_b = 0;
  for (int b = 0; b < 3; ++b) {
    const double x1 = batch.states[1][b][0].item<double>(), x2 = batch.states[2][b][0].item<double>();
    const double mu = 0.5 * x2;
    const double path =
        log_normal(x1, dt * c, dt * s2) + log_normal(x2, x1 + dt * c, dt * s2) - log_normal(x1, mu, v);
    const double residual = log_z + path - batch.log_reward[b].item<double>();
    loss += 0.5 * residual * residual / 3;
    grad_a -= residual * range * (x1 - mu) * (-0.5 * x2) / v / 3;
    grad_b -= residual * range * (-0.5 + 0.5 * (x1 - mu) * (x1 - mu) / v) / 3;
  }
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss));
  at::Tensor bias_grad;
  for (const auto& p : backward.parameters())
    if (p.name == "out.bias") bias_grad = p.tensor.grad();
  ASSERT_TRUE(bias_grad.defined());
  EXPECT_NEAR(bias_grad[0].item<double>(), grad_a, 1e-5 * (1 + std::abs(grad_a)));
  EXPECT_NEAR(bias_grad[1].item<double>(), grad_b, 1e-5 * (1 + std::abs(grad_b)));
}

// RTB by hand: with reference drift v and correction c the step term is
//   c (x_{i+1} - x_i - dt v) / s2 - dt c^2 / (2 s2),
// the residual log Z + sum of step terms - (floored) log R.
TEST(TrajectoryBalance, RelativeResidualsMatchTheHandComputedValuesWithAFloor) {
  const double s2 = 2.0, dt = 0.5, c = -0.4, v = 1.5, floor = -1.5;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  const ConstantDrift reference(torch::tensor({static_cast<float>(v)}));
  TrajectoryBalanceOptions options;
  options.floor.value = floor;
  TrajectoryBalance rtb({process, target, policy, &reference, 0, {}}, options);
  Trajectory batch = tiny_batch(process);  // no reference drift carried: the objective computes it
  LocalCommunicator comm;
  const LossStats stats = rtb.accumulate_gradients(batch, batch.batch(), comm);
  double residual_sum = 0;
  for (int b = 0; b < 3; ++b) {
    double path = 0;
    for (int i = 0; i < 2; ++i) {
      const double e =
          batch.states[i + 1][b][0].item<double>() - batch.states[i][b][0].item<double>() - dt * v;
      path += c * e / s2 - dt * c * c / (2 * s2);
    }
    residual_sum += path - std::max(batch.log_reward[b].item<double>(), floor);
  }
  EXPECT_NEAR(stats.sums[0], residual_sum, 1e-5);
  // The same batch carrying its reference drift scores the same.
  batch.extras[extras::kReferenceDrift] = torch::full({2, 3, 1}, static_cast<float>(v));
  EXPECT_TRUE(torch::allclose(rtb.log_weight(batch), rtb.log_weight(tiny_batch(process)), 1e-6, 1e-6));
}

// RL with a KL penalty by hand: path_b = sum_i c e_i / s2 - dt c^2 / (2 s2) (e_i the reference
// residual), A_b = R_b - mean R, loss = mean_b (-A_b path_b + k path_b^2),
// d loss / d c = mean_b (-A_b + 2 k path_b) sum_i (e_i - dt c) / s2.
TEST(ReinforceKl, LossAndGradientMatchTheHandComputedValues) {
  const double s2 = 2.0, dt = 0.5, c = -0.4, v = 1.5, k = 0.3;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  const ConstantDrift reference(torch::tensor({static_cast<float>(v)}));
  ReinforceKlOptions options;
  options.kl_weight = k;
  ReinforceKl rl({process, target, policy, &reference, 0, {}}, options);
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  const LossStats stats = rl.accumulate_gradients(batch, 3, comm);
  double mean_reward = 0;
  for (int b = 0; b < 3; ++b) mean_reward += std::exp(batch.log_reward[b].item<double>()) / 3;
  double loss = 0, grad = 0;
  for (int b = 0; b < 3; ++b) {
    double path = 0, dpath = 0;
    for (int i = 0; i < 2; ++i) {
      const double e =
          batch.states[i + 1][b][0].item<double>() - batch.states[i][b][0].item<double>() - dt * v;
      path += c * e / s2 - dt * c * c / (2 * s2);
      dpath += (e - dt * c) / s2;
    }
    const double advantage = std::exp(batch.log_reward[b].item<double>()) - mean_reward;
    loss += (-advantage * path + k * path * path) / 3;
    grad += (-advantage + 2 * k * path) * dpath / 3;
  }
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + std::abs(loss)));
  EXPECT_NEAR(policy.c().grad().item<double>(), grad, 1e-5 * (1 + std::abs(grad)));
  EXPECT_FALSE(rl.log_z().has_value());
}

// Chunked scoring (two passes, bounded memory) gives the gradients of the one-pass loss.
TEST(TrajectoryBalance, ChunkedScoringGivesTheSameGradients) {
  const PinnedBrownian process(25, 5.0);
  const GaussianMixture prior = GaussianMixture::isotropic(gmm25());
  const MixtureFollmerDrift prior_drift(prior, 5.0);
  torch::manual_seed(0);
  const NetworkDrift correction(2, NetworkConfig{});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : correction.parameters()) p.tensor.add_(0.05 * torch::randn_like(p.tensor));
  }
  const PosteriorTarget target(
      std::make_shared<GaussianLikelihood>(torch::eye(2, torch::kFloat64),
                                           torch::tensor({-6.0, 2.0}, torch::kFloat64), 9),
      prior, 1.0);
  Trajectory paths =
      rollout_forward(process, 2, &prior_drift, correction, CounterRng(3), 0, {48, 0, 48}, 0.3);
  paths.log_reward = target.log_reward(paths.states[25]);
  TrajectoryBalanceOptions options;
  options.floor.value = -10.0;
  LocalCommunicator comm;
  std::vector<std::vector<at::Tensor>> gradients;
  std::vector<double> losses;
  for (int chunk : {0, 7}) {
    TrajectoryBalance rtb({process, target, correction, &prior_drift, chunk, {}}, options);
    rtb.parameter_groups()[0].parameters[0].tensor.data().fill_(-3.0f);
    for (auto& p : correction.parameters()) p.tensor.mutable_grad() = at::Tensor();
    losses.push_back(rtb.accumulate_gradients(paths, 100, comm).loss_sum);
    gradients.emplace_back();
    for (auto& p : correction.parameters()) gradients.back().push_back(p.tensor.grad().clone());
    gradients.back().push_back(rtb.parameter_groups()[0].parameters[0].tensor.grad().clone());
  }
  EXPECT_NEAR(losses[0], losses[1], 1e-4 * (1 + std::abs(losses[0])));
  for (size_t i = 0; i < gradients[0].size(); ++i)
    EXPECT_TRUE(torch::allclose(gradients[1][i], gradients[0][i], 1e-4, 1e-6)) << "parameter " << i;
}

// The zero-drift sampler of the pinned Brownian motion is exactly N(0, sigma2 I) at t = 1: TB's
// residuals vanish on that target with log Z = 0, whether the batch was explored or not.
TEST(TrajectoryBalance, ZeroResidualsOnAnExactlyRepresentableTargetWithExploration) {
  const PinnedBrownian process(20, 5.0);
  MixtureConfig gaussian;
  gaussian.means = {{0.0, 0.0}};
  gaussian.weights = {1.0};
  gaussian.variances = {5.0};
  const MixtureTarget target(GaussianMixture::isotropic(gaussian));
  const NetworkDrift policy(2, NetworkConfig{});
  TrajectoryBalance tb({process, target, policy, nullptr, 0, {}}, {});
  LocalCommunicator comm;
  for (double exploration : {0.0, 0.7}) {
    Trajectory paths =
        rollout_forward(process, 2, nullptr, policy, CounterRng(4), 0, {40, 0, 40}, exploration);
    paths.log_reward = target.log_reward(paths.states[20]);
    const LossStats stats = tb.accumulate_gradients(paths, 40, comm);
    // float32 log-densities of ~10 nats each over 20 steps: residuals ~1e-5.
    EXPECT_LT(stats.sums[1] / 40, 1e-8) << "exploration " << exploration;
    EXPECT_GT(paths.states[20].var().item<double>(), 5.0 * 0.5) << "the batch is not degenerate";
  }
}

// VarGrad by hand: log Z^ = mean_b (log R_b - path_b), loss = 1/2 mean_b (log Z^ + path_b - log R_b)^2,
// d loss / d c = mean_b residual_b * d path_b / d c (log Z^ carries no gradient: residuals sum to 0).
// Loss clipping by hand: 1/2 relu(delta^2 - cutoff) per trajectory; trajectories within the cutoff give
// no gradient. The cutoff lies between the residuals' squares, so it drops some and keeps others;
// scoring in chunks of one step gives the same values.
TEST(TrajectoryBalance, LossCutoffMatchesTheHandComputedValuesWholeAndChunked) {
  const double s2 = 2.0, dt = 0.5, c = 0.3, log_z = 0.7;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const Trajectory batch = tiny_batch(process);
  std::vector<double> residual(3), dpath(3);
  for (int b = 0; b < 3; ++b) {
    const double x1 = batch.states[1][b][0].item<double>(), x2 = batch.states[2][b][0].item<double>();
    const double path = log_normal(x1, dt * c, dt * s2) + log_normal(x2, x1 + dt * c, dt * s2) -
                        log_normal(x1, 0.5 * x2, 0.5 * dt * s2);
    residual[b] = log_z + path - batch.log_reward[b].item<double>();
    dpath[b] = ((x1 - dt * c) + (x2 - x1 - dt * c)) / s2;
  }
  std::vector<double> squares{residual[0] * residual[0], residual[1] * residual[1],
                              residual[2] * residual[2]};
  std::sort(squares.begin(), squares.end());
  const double cutoff = 0.5 * (squares[0] + squares[1]);
  double loss = 0, grad_log_z = 0, grad_c = 0;
  int kept = 0;
  for (int b = 0; b < 3; ++b) {
    if (residual[b] * residual[b] <= cutoff) continue;
    ++kept;
    loss += 0.5 * (residual[b] * residual[b] - cutoff) / 3;
    grad_log_z += residual[b] / 3;
    grad_c += residual[b] * dpath[b] / 3;
  }
  ASSERT_EQ(kept, 2);
  for (int chunk : {0, 1}) {
    const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
    TrajectoryBalanceOptions options;
    options.cutoff.value = cutoff;
    TrajectoryBalance tb({process, target, policy, nullptr, chunk, {}}, options);
    tb.parameter_groups()[0].parameters[0].tensor.data().fill_(static_cast<float>(log_z));
    LocalCommunicator comm;
    const LossStats stats = tb.accumulate_gradients(batch, batch.batch(), comm);
    EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss)) << "chunk " << chunk;
    EXPECT_NEAR(tb.parameter_groups()[0].parameters[0].tensor.grad().item<double>(), grad_log_z, 1e-5)
        << "chunk " << chunk;
    EXPECT_NEAR(policy.c().grad().item<double>(), grad_c, 1e-5 * (1 + std::abs(grad_c))) << "chunk " << chunk;
  }
}

// Relative VarGrad by hand: the path is the log-ratio to the reference drift v,
//   sum_i c (x_{i+1} - x_i - dt v) / s2 - dt c^2 / (2 s2),
// and log Z^ the batch mean of log R - path.
TEST(VarGrad, RelativeVarGradScoresPathsAgainstTheReference) {
  const double s2 = 2.0, dt = 0.5, c = -0.4, v = 1.5;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  const ConstantDrift reference(torch::tensor({static_cast<float>(v)}));
  VarGrad relative({process, target, policy, &reference, 0, {}}, {});
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  const LossStats stats = relative.accumulate_gradients(batch, batch.batch(), comm);
  std::vector<double> path(3, 0.0);
  double log_z = 0;
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 2; ++i) {
      const double e =
          batch.states[i + 1][b][0].item<double>() - batch.states[i][b][0].item<double>() - dt * v;
      path[b] += c * e / s2 - dt * c * c / (2 * s2);
    }
    log_z += (batch.log_reward[b].item<double>() - path[b]) / 3;
  }
  double loss = 0;
  for (int b = 0; b < 3; ++b) {
    const double residual = log_z + path[b] - batch.log_reward[b].item<double>();
    loss += 0.5 * residual * residual / 3;
  }
  ASSERT_TRUE(relative.log_z().has_value());
  EXPECT_NEAR(*relative.log_z(), log_z, 1e-5);
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss));
}

TEST(VarGrad, LossBatchLogZAndGradientsMatchTheHandComputedValues) {
  const double s2 = 2.0, dt = 0.5, c = 0.3;
  const PinnedBrownian process(2, s2);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  VarGrad vargrad({process, target, policy, nullptr, 0, {}}, {});
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  const LossStats stats = vargrad.accumulate_gradients(batch, batch.batch(), comm);

  std::vector<double> path(3), dpath(3);
  double log_z = 0;
  for (int b = 0; b < 3; ++b) {
    const double x1 = batch.states[1][b][0].item<double>(), x2 = batch.states[2][b][0].item<double>();
    path[b] = log_normal(x1, dt * c, dt * s2) + log_normal(x2, x1 + dt * c, dt * s2) -
              log_normal(x1, 0.5 * x2, 0.5 * dt * s2);
    dpath[b] = ((x1 - dt * c) + (x2 - x1 - dt * c)) / s2;
    log_z += (batch.log_reward[b].item<double>() - path[b]) / 3;
  }
  double loss = 0, grad_c = 0;
  for (int b = 0; b < 3; ++b) {
    const double residual = log_z + path[b] - batch.log_reward[b].item<double>();
    loss += 0.5 * residual * residual / 3;
    grad_c += residual * dpath[b] / 3;
  }
  ASSERT_TRUE(vargrad.log_z().has_value());
  EXPECT_NEAR(*vargrad.log_z(), log_z, 1e-5);
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss));
  EXPECT_NEAR(stats.sums[0], 0.0, 1e-5);  // residuals sum to zero by construction
  EXPECT_NEAR(policy.c().grad().item<double>(), grad_c, 1e-5 * (1 + std::abs(grad_c)));
  EXPECT_TRUE(vargrad.parameter_groups().empty());
}

// SubTB by hand at initialisation, where the flow network outputs 0: on T = 2, A = (F_0, F_1 - s_0,
// log R - s_0 - s_1) with s_i the step terms, and with lambda = 1 the three pairs weigh 1/3 each:
// loss_b = 1/2 (1/3) [(A_0 - A_1)^2 + (A_0 - A_2)^2 + (A_1 - A_2)^2]. Plain SubTB has F = 0;
// forward-looking F_i = (1 - t_i) log N(x_i; 0, s2 max(1, i) dt) + t_i log R(x_i), log R = 0 here.
TEST(SubtrajectoryBalance, LossMatchesTheHandComputedPairsAtInitialisation) {
  const TinyCase tiny;
  LocalCommunicator comm;
  for (bool forward_looking : {false, true}) {
    SubTbOptions options;
    options.lambda = 1.0;
    options.forward_looking = forward_looking;
    SubtrajectoryBalance subtb({tiny.process, tiny.target, tiny.policy, nullptr, 0, NetworkConfig{}},
                               options);
    const LossStats stats = subtb.accumulate_gradients(tiny.batch, 3, comm);
    double loss = 0;
    const double f0 = forward_looking ? log_normal(0.0, 0.0, tiny.s2 * tiny.dt) : 0.0;
    for (int b = 0; b < 3; ++b) {
      const auto [s0, s1] = tiny.step_terms(b);
      const double x1 = tiny.batch.states[1][b][0].item<double>();
      const double f1 = forward_looking ? 0.5 * log_normal(x1, 0.0, tiny.s2 * tiny.dt) : 0.0;
      const double a0 = f0, a1 = f1 - s0, a2 = tiny.batch.log_reward[b].item<double>() - s0 - s1;
      loss += 0.5 / 3 * ((a0 - a1) * (a0 - a1) + (a0 - a2) * (a0 - a2) + (a1 - a2) * (a1 - a2)) / 3;
    }
    EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss)) << "forward looking " << forward_looking;
    EXPECT_NEAR(*subtb.log_z(), f0, 1e-5);
    const std::vector<ParameterGroup> groups = subtb.parameter_groups();
    for (const auto& parameter : groups[0].parameters)
      ASSERT_TRUE(parameter.tensor.grad().defined()) << parameter.name;
  }
}

// With lambda large, all weight falls on the whole trajectory: SubTB becomes TB with log Z = log F_0.
TEST(SubtrajectoryBalance, LargeLambdaIsTrajectoryBalance) {
  const PinnedBrownian process(2, 2.0);
  const UnusedTarget target;
  const ConstantDrift policy(torch::tensor({0.3f}));
  const Trajectory batch = tiny_batch(process);
  LocalCommunicator comm;
  SubTbOptions options;
  options.lambda = 1e8;
  SubtrajectoryBalance subtb({process, target, policy, nullptr, 0, NetworkConfig{}}, options);
  TrajectoryBalance tb({process, target, policy, nullptr, 0, {}}, {});
  const LossStats a = subtb.accumulate_gradients(batch, 3, comm), b = tb.accumulate_gradients(batch, 3, comm);
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-5 * b.loss_sum);
  EXPECT_NEAR(a.sums[0], b.sums[0], 1e-5);
}

// Detailed balance by hand at initialisation (F = 0 below T): delta_0 = 0 + s_0 - 0, delta_1 = 0 + s_1 - log
// R, loss_b = 1/2 (delta_0^2 + delta_1^2) / 2.
TEST(DetailedBalance, LossMatchesTheHandComputedStepsAtInitialisation) {
  const TinyCase tiny;
  LocalCommunicator comm;
  const auto db = make_detailed_balance(
      YAML::Node(YAML::NodeType::Map), {tiny.process, tiny.target, tiny.policy, nullptr, 0, NetworkConfig{}});
  const LossStats stats = db->accumulate_gradients(tiny.batch, 3, comm);
  double loss = 0;
  for (int b = 0; b < 3; ++b) {
    const auto [s0, s1] = tiny.step_terms(b);
    const double d1 = s1 - tiny.batch.log_reward[b].item<double>();
    loss += 0.5 * (s0 * s0 + d1 * d1) / 2 / 3;
  }
  EXPECT_NEAR(stats.loss_sum / 3, loss, 1e-5 * (1 + loss));
}

// PIS back-propagates through the sampled states: its gradient in the drift c is the derivative of
// the loss with the noise held fixed, checked by central differences (the chain and log R are smooth;
// h = 1e-3 in float32 leaves ~1e-3 relative error). A batch whose states carry no graph is refused.
TEST(PathIntegralSampler, GradientIsTheReparameterisedDerivativeOfTheLoss) {
  const PinnedBrownian process(10, 1.0);
  MixtureConfig target_config;
  target_config.means = {{1.5}};
  target_config.weights = {1.0};
  target_config.variances = {0.5};
  const MixtureTarget target(GaussianMixture::isotropic(target_config));
  const CounterRng rng(9);
  LocalCommunicator comm;
  const auto loss_at = [&](double c, bool gradient) {
    const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
    const SourceContext context{process, target, policy, nullptr, rng, 1};
    PathIntegralSampler pis({process, target, policy, nullptr, 0, {}});
    const Trajectory batch = DifferentiableSource(context).next(0, {256, 0, 256}, comm);
    const double loss = pis.accumulate_gradients(batch, 256, comm).loss_sum / 256;
    return std::make_pair(loss, gradient ? policy.c().grad().item<double>() : 0.0);
  };
  const double c = 0.7, h = 1e-3;
  const double numeric = (loss_at(c + h, false).first - loss_at(c - h, false).first) / (2 * h);
  const double analytic = loss_at(c, true).second;
  EXPECT_NEAR(analytic, numeric, 2e-3 * (1 + std::abs(numeric)));
  const ConstantDrift policy(torch::tensor({static_cast<float>(c)}));
  Trajectory detached =
      DifferentiableSource({process, target, policy, nullptr, rng, 1}).next(0, {256, 0, 256}, comm);
  detached.states = detached.states.detach();
  EXPECT_THROW(PathIntegralSampler({process, target, policy, nullptr, 0, {}})
                   .accumulate_gradients(detached, 256, comm),
               Error);
}

// drift a - drift b: the correction that turns sampler b into sampler a.
class DifferenceDrift final : public Drift {
 public:
  DifferenceDrift(const Drift& a, const Drift& b) : a_(a), b_(b) {}
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t) const override {
    return a_(x, t) - b_(x, t);
  }

 private:
  const Drift &a_, &b_;
};

struct LogZEstimates {
  double elbo, iw, iw_standard_error;
};

LogZEstimates estimates(const at::Tensor& log_weight) {
  const at::Tensor w = log_weight.to(torch::kFloat64);
  const int64_t n = w.size(0);
  const at::Tensor ratio = (w - w.max()).exp();
  return {w.mean().item<double>(), (torch::logsumexp(w, 0) - std::log(static_cast<double>(n))).item<double>(),
          (ratio.std() / ratio.mean()).item<double>() / std::sqrt(static_cast<double>(n))};
}

MixtureConfig one_gaussian(double mean, double variance) {
  MixtureConfig config;
  config.means = {{mean}};
  config.weights = {1.0};
  config.variances = {variance};
  return config;
}

// A posterior sampler that follows the exact posterior's Foellmer drift, for p = N(0, 1),
// r = N(1; x, 1) and r^beta with beta = 2: the ELBO and the importance-weighted estimate must both
// find log Z of p r^beta. (Weighting with the untempered log r, as the foundation did, is off by
// (beta - 1) E[log r] ~ 1.1 nats.) Tolerance: the chain's O(dt) error at T = 200 plus 4 Monte Carlo
// standard errors.
TEST(Evaluation, TemperedPosteriorLogZIsFoundByBothEstimatorsOfAnExactSampler) {
  const PinnedBrownian process(200, 1.0);
  const GaussianMixture prior = GaussianMixture::isotropic(one_gaussian(0.0, 1.0));
  for (double beta : {1.0, 2.0}) {
    const PosteriorTarget target(std::make_shared<GaussianLikelihood>(torch::ones({1, 1}, torch::kFloat64),
                                                                      torch::ones({1}, torch::kFloat64), 1.0),
                                 prior, beta);
    const auto& truth = dynamic_cast<const MixtureTruth&>(*target.truth());
    const MixtureFollmerDrift prior_drift(prior, 1.0), posterior_drift(truth.mixture(), 1.0);
    const DifferenceDrift correction(posterior_drift, prior_drift);
    TrajectoryBalance rtb({process, target, correction, &prior_drift, 0, {}}, {});
    Trajectory paths =
        rollout_forward(process, 1, &prior_drift, correction, CounterRng(5), 0, {20000, 0, 20000}, 0.0);
    paths.log_reward = target.log_reward(paths.states[200]);
    const LogZEstimates e = estimates(rtb.log_weight(paths));
    EXPECT_NEAR(e.elbo, truth.log_z(), 0.02) << "beta " << beta;
    EXPECT_NEAR(e.iw, truth.log_z(), 0.01 + 4 * e.iw_standard_error) << "beta " << beta;
  }
}

// r constant (A = 0): the posterior is the prior and every path's log weight is beta log r exactly,
// so the ELBO, the importance-weighted estimate and log Z agree on every path, for beta = 1 and 2.
TEST(Evaluation, ConstantRewardGivesExactLogZOnEveryPath) {
  const PinnedBrownian process(50, 5.0);
  const GaussianMixture prior = GaussianMixture::isotropic(gmm25());
  const MixtureFollmerDrift prior_drift(prior, 5.0);
  const NetworkDrift correction(2, NetworkConfig{});  // zero at initialisation
  for (double beta : {1.0, 2.0}) {
    const PosteriorTarget target(
        std::make_shared<GaussianLikelihood>(torch::zeros({2, 2}, torch::kFloat64),
                                             torch::tensor({0.5, -1.0}, torch::kFloat64), 2.0),
        prior, beta);
    const double log_r = -0.5 * (1.25 / 2.0 + 2 * std::log(2 * M_PI * 2.0));
    EXPECT_NEAR(target.truth()->log_z(), beta * log_r, 1e-9);
    TrajectoryBalance rtb({process, target, correction, &prior_drift, 0, {}}, {});
    Trajectory paths =
        rollout_forward(process, 2, &prior_drift, correction, CounterRng(6), 0, {64, 0, 64}, 0.5);
    paths.log_reward = target.log_reward(paths.states[50]);
    const at::Tensor w = rtb.log_weight(paths).to(torch::kFloat64);
    EXPECT_LT((w - beta * log_r).abs().max().item<double>(), 1e-5) << "beta " << beta;
  }
}

// The exact prior chain: T = 100 Euler steps of the 25GMM's Foellmer drift. Each mode holds 1/25 of
// 20000 samples (4 standard errors: 0.0055), each mode's variance is 0.3262 per axis - the Euler
// recursion v <- (1 + dt a_i)^2 v + dt sigma2, not the continuous 0.3 (4 standard errors: 0.009) -
// and the importance-weighted log Z of the chain against the mixture is 0 within 4 standard errors.
// The ELBO is log Z minus the path-space KL of the Euler chain to the exact one (-0.126 measured).
TEST(Evaluation, ExactPriorChainMatchesTheMixtureItDiscretises) {
  const PinnedBrownian process(100, 5.0);
  const GaussianMixture mixture = GaussianMixture::isotropic(gmm25());
  const MixtureTarget target(mixture);
  const MixtureFollmerDrift chain(mixture, 5.0);
  TrajectoryBalance tb({process, target, chain, nullptr, 0, {}}, {});
  const int64_t n = 20000;
  Trajectory paths = rollout_forward(process, 2, nullptr, chain, CounterRng(7), 0, {n, 0, n}, 0.0);
  const at::Tensor x = paths.states[100].to(torch::kFloat64);
  paths.log_reward = target.log_reward(paths.states[100]);
  const at::Tensor mode = mixture.component_log_joint(x).argmax(1);
  const at::Tensor occupancy = torch::bincount(mode, {}, 25).to(torch::kFloat64) / n;
  EXPECT_LT((occupancy - 0.04).abs().max().item<double>(), 0.0055);
  const at::Tensor centred = x - mixture.means().index_select(0, mode);
  EXPECT_NEAR(centred.square().mean().item<double>(), 0.32621, 0.009);
  const LogZEstimates e = estimates(tb.log_weight(paths));
  EXPECT_NEAR(e.iw, 0.0, 4 * e.iw_standard_error);
  EXPECT_LT(e.elbo, e.iw);
  EXPECT_GT(e.elbo, -0.2);
}

// The floor's report, against closed forms: prior N(0, 1/4), r = N(0; x, 1), posterior N(0, v = 1/5).
// log R < f exactly when |x| > c, c^2 = -2 (f + log sqrt(2 pi)); the floored mass is erfc(c / sqrt(2v))
// and E_post[max(1, e^{f - log R})] = erf(c / sqrt(2v)) + e^f sqrt(2 pi) erfc(c sqrt(a/2)) / sqrt(a v),
// a = 1/v - 1. Tolerances: 4 standard errors of 100000 samples (0.0037 for the fractions), 0.005 for
// the shift (its summand has variance < 1 here).
TEST(LogRewardFloor, ReportsTheFlooredMassAndTheLogZShiftOfTheFlooredTarget) {
  const double f = -1.2, v = 0.2, a = 1 / v - 1;
  const double c = std::sqrt(-2 * (f + 0.5 * std::log(2 * M_PI)));
  const double fraction = std::erfc(c / std::sqrt(2 * v));
  const double shift =
      std::log(std::erf(c / std::sqrt(2 * v)) +
               std::exp(f) * std::sqrt(2 * M_PI) * std::erfc(c * std::sqrt(a / 2)) / std::sqrt(a * v));
  const PosteriorTarget target(std::make_shared<GaussianLikelihood>(torch::ones({1, 1}, torch::kFloat64),
                                                                    torch::zeros({1}, torch::kFloat64), 1.0),
                               GaussianMixture::isotropic(one_gaussian(0.0, 0.25)), 1.0);
  const CounterRng rng(8);
  const int64_t n = 100000;
  Trajectory samples;
  samples.states = target.truth()->sample(rng, 0, 0, n).unsqueeze(0);  // a sampler that is exact
  samples.log_reward = target.log_reward(samples.states[0]);
  LocalCommunicator comm;
  const Metrics metrics = LogRewardFloor{f}.metrics(samples, target, rng, comm);
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_NEAR(metrics[0].second, fraction, 0.0037) << fraction;
  EXPECT_NEAR(metrics[1].second, fraction, 0.0037);
  EXPECT_NEAR(metrics[2].second, shift, 0.005) << shift;
  EXPECT_GT(shift, 0.01);  // the case is not trivial
  EXPECT_TRUE(LogRewardFloor{}.metrics(samples, target, rng, comm).empty());
}

}  // namespace
}  // namespace tilt
