// Each CPU kernel beside its ceiling on this machine: the fused network's forward (rollout) and
// forward + backward (scoring) in GFLOP/s against the FMA peak of the instruction set it runs
// (measured here by a register-only FMA loop), the mixture drift in states/s, and the whole fused
// rollout in trajectory-steps/s. One core (pin it: taskset -c 0).
// Usage: bench_kernels [--rows N] [--hidden H] [--layers L]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "fourier_mlp/fourier_mlp_cpu.h"
#include "mixture_drift/mixture_drift.h"
#include "pinned_rollout/pinned_rollout.h"
#include "tb_iteration/tb_iteration_cpu.h"
#include "testing/gmm25.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace tilt::kernels;

template <typename F>
double best_seconds(F&& f, int repeats = 7) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int rows = 15000, hidden = 64, layers = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows"))
      rows = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--hidden"))
      hidden = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--layers"))
      layers = std::atoi(argv[i + 1]);
  }
  const SimdOps& ops = simd_ops();
  volatile float sink = 0;
  const int64_t fma_iterations = 20'000'000;
  const double peak_s = best_seconds([&] { sink = sink + ops.fma_loop(fma_iterations); }, 3);
  const double peak = 2.0 * fma_iterations * kPeakAccumulators * ops.vector_floats / peak_s / 1e9;
  std::printf("# tilt bench_kernels: instruction set %s, FMA peak (measured) %.1f GFLOP/s on one core\n",
              ops.name, peak);

  // The gfn-diffusion network at its benchmark size: D = 2, F = 64, T = 100 steps of rows / 100.
  const FourierMlpShape shape{2, hidden, 64, layers, 2};
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  const int64_t h = hidden, f = 64;
  std::vector<float> frequencies(f), parameters(fourier_mlp_parameter_count(shape));
  for (int i = 0; i < f; ++i) frequencies[i] = 0.1f + 99.9f * i / (f - 1);
  for (float& p : parameters) p = normal(rng);
  std::vector<float> gradients(parameters.size(), 0.0f);
  FourierMlpCpu mlp(shape, frequencies.data());
  mlp.set_weights(fourier_mlp_flat_view(static_cast<const float*>(parameters.data()), shape));
  const int steps = 100, batch = std::max(1, rows / steps);
  const int64_t n = static_cast<int64_t>(steps) * batch;
  std::vector<float> x(n * 2), out(n * 2), t(steps);
  for (float& v : x) v = normal(rng) * 30;
  for (int k = 0; k < steps; ++k) t[k] = k * 0.01f;
  const double flops = shape.flops_per_sample() * n;
  const double forward_s = best_seconds([&] { mlp.forward(x.data(), t.data(), steps, batch, out.data()); });
  const double backward_s = best_seconds([&] {
    mlp.backward(x.data(), t.data(), steps, batch, out.data(),
                 fourier_mlp_flat_view(gradients.data(), shape));
  });
  const double step_forward_s = best_seconds([&] {
    for (int k = 0; k < steps; ++k) mlp.forward(x.data() + k * batch * 2, t.data() + k, 1, batch, out.data());
  });
  std::printf("%-34s %10s %12s %10s %10s\n", "kernel", "time_ms", "rate", "GFLOP/s", "of_peak");
  const auto row = [&](const char* name, double seconds, double work, double items, const char* unit) {
    std::printf("%-34s %10.3f %9.3e/s %10.1f %9.0f%%  (%s)\n", name, seconds * 1e3, items / seconds,
                work / seconds / 1e9, 100 * work / seconds / 1e9 / peak, unit);
  };
  // The hidden layer's product alone, tile by tile as the network runs it, and GELU alone.
  std::vector<float> weight(h * h), tile(96 * h), product(96 * h), derivative(96 * h);
  for (float& v : weight) v = normal(rng);
  for (float& v : tile) v = normal(rng);
  const int64_t tiles = (n + 95) / 96;
  const double gemm_s = best_seconds([&] {
    for (int64_t i = 0; i < tiles; ++i)
      ops.gemm(96, hidden, hidden, tile.data(), h, 1, weight.data(), h, product.data(), h, true);
  });
  const double gelu_s = best_seconds([&] {
    for (int64_t i = 0; i < tiles; ++i) ops.gelu(96 * h, product.data(), tile.data(), nullptr);
  });
  const double gelu_derivative_s = best_seconds([&] {
    for (int64_t i = 0; i < tiles; ++i) ops.gelu(96 * h, product.data(), tile.data(), derivative.data());
  });
  row("gemm 96 x H x H tiles", gemm_s, 2.0 * tiles * 96 * h * h, static_cast<double>(tiles * 96), "rows");
  row("gelu, H per row", gelu_s, 0, static_cast<double>(tiles * 96 * h), "values");
  row("gelu and derivative, H per row", gelu_derivative_s, 0, static_cast<double>(tiles * 96 * h), "values");
  row("mlp forward, all rows", forward_s, flops, static_cast<double>(n), "samples");
  row("mlp forward, one step at a time", step_forward_s, flops, static_cast<double>(n), "samples");
  row("mlp backward (tile forward + backward)", backward_s, 3 * flops, static_cast<double>(n), "samples");

  // The 25-mode mixture's drift: ~ C (4 D + 20) FLOP per state with exp and log per component.
  const Gmm25 gmm25;
  const MixtureView mixture = gmm25.view(5.0f);
  const double mixture_s =
      best_seconds([&] { mixture_follmer_drift_cpu(mixture, x.data(), n, 0.5f, out.data()); });
  row("mixture drift (25 components)", mixture_s, 0, static_cast<double>(n), "states");

  PinnedRolloutSpec spec;
  spec.steps = steps;
  spec.batch = batch;
  spec.dim = 2;
  spec.sigma2 = 5.0f;
  spec.exploration_std = 0.2;
  std::vector<float> states(static_cast<size_t>(steps + 1) * batch * 2),
      reference(static_cast<size_t>(steps) * batch * 2);
  const double rollout_s = best_seconds(
      [&] { pinned_rollout_cpu(spec, &mlp, &mixture, states.data(), reference.data(), nullptr); });
  row("rollout: mlp + mixture + step", rollout_s, flops, static_cast<double>(n), "trajectory-steps");
  const double analytic_s =
      best_seconds([&] { pinned_rollout_cpu(spec, nullptr, &mixture, states.data(), nullptr, nullptr); });
  row("rollout: mixture drift only", analytic_s, 0, static_cast<double>(n), "trajectory-steps");

  // The whole TB iteration without LibTorch (rollout, residuals, backward, Adam) on the 25-mode
  // target: rollout + scoring counted as 1 + 3 forward passes, as bench_iteration counts them.
  TbIterationSpec tb;
  tb.rollout = spec;
  tb.global_batch = batch;
  TbIterationCpu engine(tb, shape, frequencies.data(), mixture_target(mixture), parameters.data(), 0.0f);
  uint32_t iteration = 0;
  const double tb_s = best_seconds([&] { engine.step(iteration++, 0.2); });
  row("TB iteration (kernels engine)", tb_s, 4 * flops, static_cast<double>(n), "trajectory-steps");
  return sink == 12345.0f ? 1 : 0;
}
