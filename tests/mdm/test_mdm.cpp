// Multivariate diffusions against ground truth: the matrix-exponential transition against RK4
// integration of its ODEs, the stationary law, the VPSDE and CLD closed forms, learned D positive
// semidefinite after training, the importance-sampled time, and the ELBO of Gaussian data against
// its exact value (where every score is known in closed form); config errors; resume.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "dist/communicator.h"
#include "io/hdf5_file.h"
#include "mdm/elbo.h"
#include "mdm/linear_process.h"
#include "mdm/mdm_config.h"
#include "mdm/train_mdm.h"
#include "train/adam.h"

namespace tilt::mdm {
namespace {

const auto kFloat64 = torch::TensorOptions().dtype(torch::kFloat64);

ProcessConfig process(const std::string& kind, int variables = 2, bool full = false) {
  ProcessConfig config;
  config.kind = kind;
  config.variables = variables;
  config.full_dissipation = full;
  return config;
}

std::vector<ProcessConfig> every_kind() {
  return {process("vpsde"), process("cld"),        process("alda"),
          process("malda"), process("learned", 2), process("learned", 3, true)};
}

double relative_error(const at::Tensor& value, const at::Tensor& truth) {
  return (value - truth).norm().item<double>() / truth.norm().item<double>();
}

// RK4 of dM/dt = A(t) M (M(0) = I: the mean map) and dS/dt = A S + S A^T + g g^T (S(0) = Sigma_0),
// the Lyapunov ODE, from 0 to each of `times` (ascending).
std::vector<std::pair<at::Tensor, at::Tensor>> rk4(const LinearProcess& linear,
                                                   const std::vector<double>& times, int steps_per_unit) {
  torch::NoGradGuard no_grad;
  const auto derivative = [&](double t, const at::Tensor& m, const at::Tensor& s) {
    const at::Tensor time = torch::tensor({t}, kFloat64);
    const at::Tensor a = linear.drift_matrix(time)[0], g = linear.diffusion_square(time)[0];
    return std::make_pair(a.matmul(m), a.matmul(s) + s.matmul(a.transpose(0, 1)) + g);
  };
  at::Tensor m = torch::eye(linear.variables(), kFloat64), s = linear.initial_covariance();
  std::vector<std::pair<at::Tensor, at::Tensor>> out;
  double t = 0;
  for (double end : times) {
    const int steps = static_cast<int>(std::ceil((end - t) * steps_per_unit));
    const double h = (end - t) / steps;
    for (int i = 0; i < steps; ++i, t += h) {
      const auto k1 = derivative(t, m, s);
      const auto k2 = derivative(t + h / 2, m + h / 2 * k1.first, s + h / 2 * k1.second);
      const auto k3 = derivative(t + h / 2, m + h / 2 * k2.first, s + h / 2 * k2.second);
      const auto k4 = derivative(t + h, m + h * k3.first, s + h * k3.second);
      m = m + h / 6 * (k1.first + 2 * k2.first + 2 * k3.first + k4.first);
      s = s + h / 6 * (k1.second + 2 * k2.second + 2 * k3.second + k4.second);
    }
    t = end;
    out.emplace_back(m.clone(), s.clone());
  }
  return out;
}

// RK4's error at h = 1/4000 is ~(beta1 h)^4 ~ 1e-10 relative: the 1e-6 bound is the matrix
// exponential's, not the integrator's.
TEST(LinearProcess, TransitionMatchesRk4OfTheLyapunovOde) {
  const std::vector<double> times{0.01, 0.2, 0.6, 1.0};
  for (const ProcessConfig& config : every_kind()) {
    const LinearProcess linear(config, 7);
    const auto reference = rk4(linear, times, 4000);
    const Transition transition = linear.transition(torch::tensor(times, kFloat64));
    for (size_t i = 0; i < times.size(); ++i) {
      EXPECT_LT(relative_error(transition.mean[i], reference[i].first), 1e-6)
          << config.kind << " t " << times[i];
      EXPECT_LT(relative_error(transition.covariance[i], reference[i].second), 1e-6)
          << config.kind << " K " << linear.variables() << " t " << times[i];
      EXPECT_LT(relative_error(transition.cholesky[i].matmul(transition.cholesky[i].transpose(0, 1)),
                               transition.covariance[i]),
                1e-9);
    }
  }
}

// From a point, x gets its noise only through the auxiliary variables: its variance's leading term
// is 4 B^3 / 3 for CLD (x' = v, v' = 2 W') and B^5 / 10 for ALDA (x' = v1, v1' ~ v2, v2' = sqrt 2 W'),
// the next order relatively O(B). At the offset term's t_min and below, the transition keeps them.
TEST(LinearProcess, VarianceFromAPointKeepsItsLeadingOrder) {
  for (const double t : {1e-4, 1e-3}) {
    const at::Tensor time = torch::tensor({t}, kFloat64);
    const double b = BetaSchedule{}.integral(time).item<double>();
    const double cld =
        LinearProcess(process("cld")).transition(time, true).covariance[0][0][0].item<double>();
    const double alda =
        LinearProcess(process("alda")).transition(time, true).covariance[0][0][0].item<double>();
    EXPECT_NEAR(cld / (4 * std::pow(b, 3) / 3), 1.0, 10 * b) << t;
    EXPECT_NEAR(alda / (std::pow(b, 5) / 10), 1.0, 10 * b) << t;
  }
}

// N(0, I) is stationary for any Q, D (Sigma_t - I = m_t (Sigma_0 - I) m_t^T exactly) and is
// reached: with B(1) = 50 the law at t = 1 is N(0, I) to 1e-4 (ALDA's, MALDA's and the learned
// matrices' slowest modes decay like e^-0.2B: 5e-5).
TEST(LinearProcess, StationaryLawIsKeptAndReached) {
  for (ProcessConfig config : every_kind()) {
    const LinearProcess linear(config, 3);
    const Transition transition = linear.transition(torch::tensor({0.05, 0.5, 1.0}, kFloat64));
    const at::Tensor identity = torch::eye(linear.variables(), kFloat64);
    const at::Tensor kept = identity + transition.mean.matmul(linear.initial_covariance() - identity)
                                           .matmul(transition.mean.transpose(1, 2));
    EXPECT_LT(relative_error(transition.covariance, kept), 1e-9) << config.kind;

    config.schedule = {0.1, 99.9};
    const LinearProcess fast(config, 3);
    const Transition end = fast.transition(torch::ones({1}, kFloat64));
    EXPECT_LT((end.covariance[0] - identity).abs().max().item<double>(), 1e-4) << config.kind;
    EXPECT_LT(end.mean.abs().max().item<double>(), 1e-4) << config.kind;
  }
}

// VPSDE: mean e^-B/2, variance 1 - e^-B. CLD (M = 1, Gamma = 2): A~ = [[0, 1], [-1, -2]] has the
// double eigenvalue -1, exp(B A~) = e^-B [[1 + B, B], [-B, 1 - B]], and with Sigma_0 = diag(0, g):
//   Sxx = 1 - e^-2B ((1 + B)^2 + (1 - g) B^2),  Sxv = e^-2B (B (1 + B) - (1 - g) B (1 - B)),
//   Svv = 1 - e^-2B (B^2 + (1 - g) (1 - B)^2).
TEST(LinearProcess, VpsdeAndCldMatchTheirClosedForms) {
  const at::Tensor t = torch::tensor({0.001, 0.1, 0.4, 1.0}, kFloat64);
  const at::Tensor b = BetaSchedule{}.integral(t), decay = torch::exp(-b);
  const Transition vp = LinearProcess(process("vpsde")).transition(t);
  EXPECT_LT(relative_error(vp.mean.view(-1), torch::exp(-b / 2)), 1e-12);
  EXPECT_LT(relative_error(vp.covariance.view(-1), 1 - decay), 1e-10);

  const double g = 0.01;
  const Transition cld = LinearProcess(process("cld")).transition(t);
  const at::Tensor mean =
      decay.view({-1, 1, 1}) * torch::stack({torch::stack({1 + b, b}, 1), torch::stack({-b, 1 - b}, 1)}, 1);
  EXPECT_LT(relative_error(cld.mean, mean), 1e-12);
  const at::Tensor decay2 = decay.square();
  const at::Tensor sxx = 1 - decay2 * ((1 + b).square() + (1 - g) * b.square());
  const at::Tensor sxv = decay2 * (b * (1 + b) - (1 - g) * b * (1 - b));
  const at::Tensor svv = 1 - decay2 * (b.square() + (1 - g) * (1 - b).square());
  EXPECT_LT(relative_error(cld.covariance.select(2, 0).select(1, 0), sxx), 1e-9);
  EXPECT_LT(relative_error(cld.covariance.select(2, 1).select(1, 0), sxv), 1e-9);
  EXPECT_LT(relative_error(cld.covariance.select(2, 1).select(1, 1), svv), 1e-9);
}

// The importance density integrates to 1 on [t_min, 1]: the estimator E[1 / w(t)] of the interval's
// length is 1 - t_min (Monte Carlo, 4 standard errors); the inverse CDF is the CDF's inverse.
TEST(ImportanceTime, DensityIsNormalisedAndInverseCdfExact) {
  const double t_min = 1e-3;
  const BetaSchedule schedule;
  torch::manual_seed(0);
  const ImportanceTime draw = importance_time(schedule, t_min, torch::rand({200000}, kFloat64));
  EXPECT_GE(draw.t.min().item<double>(), t_min);
  EXPECT_LE(draw.t.max().item<double>(), 1.0);
  const at::Tensor inverse = 1 / draw.density;
  const double error = inverse.std().item<double>() / std::sqrt(200000.0);
  EXPECT_NEAR(inverse.mean().item<double>(), 1 - t_min, 4 * error);
  // The CDF at the quantiles, by the trapezoid rule on a fine grid: r / w is the normaliser Z.
  const auto r = [&](const at::Tensor& t) { return schedule.beta(t) / -torch::expm1(-schedule.integral(t)); };
  const at::Tensor u = torch::tensor({0.1, 0.5, 0.9}, kFloat64);
  const ImportanceTime quantiles = importance_time(schedule, t_min, u);
  const at::Tensor normaliser = r(quantiles.t) / quantiles.density;
  EXPECT_LT((normaliser - normaliser[0]).abs().max().item<double>(), 1e-12);
  for (int i = 0; i < 3; ++i) {
    const at::Tensor grid = torch::linspace(t_min, quantiles.t[i].item<double>(), 200001, kFloat64);
    EXPECT_NEAR((torch::trapezoid(r(grid), grid) / normaliser[0]).item<double>(), u[i].item<double>(), 1e-6);
  }
}

// Gaussian data x ~ N(mu, diag(s^2)) per coordinate: every marginal is Gaussian, with mean
// m_t[:, 0] mu and covariance s^2 m_t[:, 0] m_t[:, 0]^T + Sigma_t per coordinate, and the exact
// noise prediction is L_t^T Sigma_marg^-1 (y - m_marg).
struct GaussianData {
  at::Tensor mu = torch::tensor({0.5, -1.0}, kFloat64), s = torch::tensor({0.3, 0.8}, kFloat64);
  int64_t d = 2;

  // Marginal mean [N, K, d] and covariance [N, d, K, K] at the transition's times.
  std::pair<at::Tensor, at::Tensor> marginal(const Transition& at_t) const {
    const at::Tensor column = at_t.mean.select(2, 0);  // [N, K]
    const at::Tensor outer = column.unsqueeze(2) * column.unsqueeze(1);
    return {column.unsqueeze(2) * mu.view({1, 1, d}),
            s.square().view({1, d, 1, 1}) * outer.unsqueeze(1) + at_t.covariance.unsqueeze(1)};
  }
  NoisePredictor exact(const LinearProcess& linear) const {
    return [this, &linear](const at::Tensor& y, const at::Tensor& t) {
      const int64_t k = linear.variables();
      const Transition at_t = linear.transition(t.to(torch::kFloat64));
      const auto [mean, covariance] = marginal(at_t);
      const at::Tensor centred = (y.to(torch::kFloat64).view({-1, k, d}) - mean).transpose(1, 2).unsqueeze(3);
      const at::Tensor solved = torch::linalg_solve(covariance, centred);  // [N, d, K, 1]
      const at::Tensor eps = at_t.cholesky.transpose(1, 2).unsqueeze(1).matmul(solved).squeeze(3);
      return eps.transpose(1, 2).reshape({-1, k * d}).to(torch::kFloat32);
    };
  }
  at::Tensor sample(int64_t n) const { return mu + s * torch::randn({n, d}, kFloat64); }
};

// At a fixed time the integrand's mean is -d/dt E log q_t = tr A + 1/2 tr(Sigma_marg^-1 g g^T) per
// coordinate (the marginal's entropy grows by the Lyapunov ODE): a sharp check of the integrand,
// 40000 examples a time against 5 standard errors.
TEST(MdmElbo, DsmIntegrandMatchesTheEntropyRateOfGaussianData) {
  const GaussianData data;
  const int64_t n = 40000;
  for (const ProcessConfig& config :
       {process("vpsde"), process("cld"), process("alda"), process("malda"), process("learned", 3)}) {
    const LinearProcess linear(config, 11);
    const int64_t k = linear.variables();
    for (const double time : {0.005, 0.1, 0.6}) {
      torch::manual_seed(9);
      const at::Tensor t = torch::full({n}, time, kFloat64);
      torch::NoGradGuard no_grad;
      const at::Tensor values = dsm_integrand(linear, data.exact(linear), data.sample(n), t,
                                              torch::randn({n, k, data.d}, kFloat64));
      const at::Tensor one = torch::full({1}, time, kFloat64);
      const auto [mean, covariance] = data.marginal(linear.transition(one));
      const double rate =
          data.d * linear.drift_matrix(one)[0].trace().item<double>() +
          0.5 * torch::linalg_solve(covariance[0], linear.diffusion_square(one)[0].expand({data.d, k, k}))
                    .diagonal(0, 1, 2)
                    .sum()
                    .item<double>();
      const double error = values.std().item<double>() / std::sqrt(double(n));
      EXPECT_NEAR(values.mean().item<double>(), rate, 5 * error) << config.kind << " t " << time;
    }
  }
}

// The whole estimator, with the exact noise prediction: E[ELBO without offset] =
// -H(q_{t_min}) - KL(q_1 || pi) + H(q(v_0)) in closed form (the integrand's expectation is
// -d/dt E log q_t); 20000 examples within 4 standard errors (the importance-weighted integrand's
// spread is ~15 nats an example: the sharp check of the integrand is the test above). It sits below
// the exact log-likelihood E log p(x) = -H(data) by the prior's mismatch and the noise [0, t_min]
// adds (the auxiliary variables' variance grows by 2 beta D t_min, ~4% for CLD). The offset term
// closes the second: its mean is H(q_{t_min}) - H(data) - H(q(v_0)) but for the Gaussian
// reconstruction's own gap (its covariance misses the auxiliary variables' prior by ~4% at t_min,
// < 1e-3 nats), and its spread is small: 4 standard errors + 1e-3.
TEST(MdmElbo, GaussianDataMatchesItsExactValue) {
  const GaussianData data;
  const int64_t n = 20000, d = data.d;
  const double t_min = 1e-3, log_two_pi_e = std::log(2 * M_PI) + 1;
  const double log_likelihood = -0.5 * (d * log_two_pi_e + data.s.square().log().sum().item<double>());
  for (const ProcessConfig& config :
       {process("vpsde"), process("cld"), process("alda"), process("malda"), process("learned", 3)}) {
    const LinearProcess linear(config, 11);
    const int64_t k = linear.variables();
    torch::manual_seed(5);
    const at::Tensor x = data.sample(n);
    const ElboNoise noise{torch::rand({n}, kFloat64), torch::randn({n, k, d}, kFloat64),
                          torch::randn({n, k, d}, kFloat64)};
    torch::NoGradGuard no_grad;
    const at::Tensor values = elbo(linear, data.exact(linear), x, noise, t_min);
    const at::Tensor offsets =
        offset_term(linear, data.exact(linear), x, torch::randn({n, k - 1, d}, kFloat64),
                    torch::randn({n, k, d}, kFloat64), t_min);

    const auto [start_mean, start_cov] = data.marginal(linear.transition(torch::tensor({t_min}, kFloat64)));
    const double entropy_start =
        0.5 * (k * d * log_two_pi_e + torch::logdet(start_cov[0]).sum().item<double>());
    const auto [end_mean, end_cov] = data.marginal(linear.transition(torch::ones({1}, kFloat64)));
    const double kl_end =
        0.5 * (end_cov[0].diagonal(0, 1, 2).sum().item<double>() + end_mean.square().sum().item<double>() -
               k * d - torch::logdet(end_cov[0]).sum().item<double>());
    const double aux_entropy = 0.5 * d * (k - 1) * (log_two_pi_e + std::log(config.aux_variance));
    const double expected = -entropy_start - kl_end + aux_entropy;
    const auto standard_error = [n](const at::Tensor& v) {
      return v.std().item<double>() / std::sqrt(double(n));
    };
    EXPECT_NEAR(values.mean().item<double>(), expected, 4 * standard_error(values)) << config.kind;
    EXPECT_GT(log_likelihood - expected, 0) << config.kind;
    EXPECT_LT(log_likelihood - expected, 0.1) << config.kind;
    EXPECT_NEAR(offsets.mean().item<double>(), log_likelihood - kl_end - expected,
                4 * standard_error(offsets) + 1e-3)
        << config.kind;
  }
}

// Learned D stays positive definite (smallest eigenvalue >= the 1e-3 floor) after Adam steps at a
// large learning rate that move its factor (Q = q - q^T is skew by its form, and D's PSD is by
// construction too: this guards the construction against a change that trains D itself).
TEST(LinearProcess, LearnedDissipationStaysPsdWhileTraining) {
  for (const bool full : {false, true}) {
    const LinearProcess linear(process("learned", 3, full), 1);
    const at::Tensor start = linear.parameters()[1].tensor.detach().clone();
    Adam adam({{linear.parameters(), 0.5}});
    torch::manual_seed(2);
    const at::Tensor x = torch::randn({64, 2});
    const NoisePredictor zero = [](const at::Tensor& y, const at::Tensor&) { return torch::zeros_like(y); };
    for (int step = 0; step < 20; ++step) {
      const ElboNoise noise{torch::rand({64}, kFloat64), torch::randn({64, 3, 2}, kFloat64),
                            torch::randn({64, 3, 2}, kFloat64)};
      const at::Tensor loss = -elbo(linear, zero, x, noise, 1e-3).mean();
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
    torch::NoGradGuard no_grad;
    const at::Tensor dissipation = linear.dissipation();
    EXPECT_GE(torch::linalg_eigvalsh(dissipation).min().item<double>(), 1e-3 * (1 - 1e-9)) << full;
    EXPECT_GT((linear.parameters()[1].tensor - start).abs().max().item<double>(), 0.5) << "D did not move";
  }
}

TEST(LinearProcess, BadConfigsAreErrors) {
  EXPECT_THROW(LinearProcess(process("sde")), Error);
  EXPECT_THROW(LinearProcess(process("learned", 0)), Error);
  ProcessConfig config = process("cld");
  config.aux_variance = 0;
  EXPECT_THROW(LinearProcess{config}, Error);
}

TEST(MdmConfig, BadValuesAreOneLineErrors) {
  const std::string images = "data.name=fashion_mnist";
  // The overrides, the last one bad.
  const std::vector<std::vector<std::string>> cases = {{"process.kind=sde"},
                                                       {"process.variables=0"},
                                                       {"process.aux_variance=0"},
                                                       {"process.beta1=0.01"},
                                                       {"process.t_min=1"},
                                                       {"train.lr=0"},
                                                       {"train.grad_clip=-1"},
                                                       {"eval.sampler_steps=0"},
                                                       {"data.name=moons"},
                                                       {"network.width=3"},
                                                       {"network.architecture=unet"},
                                                       {images, "network.architecture=mlp"},
                                                       {images, "network.channels=3"},
                                                       {images, "data.limit=-1"},
                                                       {images, "data.path=/nonexistent/fashion-mnist"},
                                                       {images, "eval.examples=-1"},
                                                       {images, "eval.examples=1"}};
  for (std::vector<std::string> overrides : cases) {
    const std::string bad = overrides.back();
    overrides.insert(overrides.begin(), "process.kind=learned");
    try {
      parse_mdm_config("method: mdm\n", overrides);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      const std::string key = bad.substr(0, bad.find('='));
      EXPECT_NE(message.find(key.substr(key.find('.') + 1)), std::string::npos) << bad << ": " << message;
    }
  }
  for (const std::vector<std::string>& overrides :
       {std::vector<std::string>{"process.kind=malda", "train.lr=0.003"},
        std::vector<std::string>{images, "process.kind=cld", "network.channels=8", "data.limit=100"}}) {
    const MdmConfig parsed = parse_mdm_config("method: mdm\n", overrides);
    EXPECT_EQ(to_yaml(parse_mdm_config(to_yaml(parsed))), to_yaml(parsed));
  }
}

// A run stopped after 2 iterations and resumed to 4 ends with the uninterrupted run's parameters,
// optimiser moments and evaluation, bit for bit.
TEST(TrainMdm, ResumeReproducesTheUninterruptedRun) {
  const auto root =
      std::filesystem::temp_directory_path() / ("tilt_mdm_resume_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  const auto config = [](int iterations) {
    return parse_mdm_config(
        "method: mdm\n", {"process.kind=learned", "network.hidden=16", "network.layers=1", "train.batch=32",
                          "eval.examples=64", "eval.samples=32", "eval.sampler_steps=10",
                          "train.iterations=" + std::to_string(iterations)});
  };
  LocalCommunicator alone;
  const TrainResult whole = train_mdm(config(4), {root / "whole", StartMode::kFresh, true}, alone);
  ASSERT_EQ(whole.outcome, TrainOutcome::kFinished);
  TrainOptions part{root / "part", StartMode::kFresh, true};
  ASSERT_EQ(train_mdm(config(2), part, alone).outcome, TrainOutcome::kFinished);
  part.start = StartMode::kResume;
  const TrainResult resumed = train_mdm(config(4), part, alone);
  ASSERT_EQ(resumed.outcome, TrainOutcome::kFinished);
  EXPECT_EQ(resumed.metrics, whole.metrics);
  const io::H5File a = io::H5File::open_read(root / "whole" / "checkpoint.h5");
  const io::H5File b = io::H5File::open_read(root / "part" / "checkpoint.h5");
  for (const std::string name : {"process/skew_factor", "process/dissipation_factor"}) {
    EXPECT_TRUE(torch::equal(a.read("/parameters/" + name), b.read("/parameters/" + name))) << name;
    EXPECT_TRUE(
        torch::equal(a.read("/optimizer/mdm/" + name + "/m"), b.read("/optimizer/mdm/" + name + "/m")));
  }
  try {
    train_mdm(parse_mdm_config("method: mdm\n", {"process.kind=cld"}),
              {root / "part", StartMode::kResume, true}, alone);
    ADD_FAILURE() << "a resume under another process was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kind: learned"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tilt::mdm
