// Throughput of one training iteration, split into rollout (no autograd, step-sequential) and
// scoring (batched forward + backward over all T x B transitions), on however many MPI ranks it is
// launched with. Prints the FLOP floor of the same work beside every figure:
//   rollout: T * B forward passes of the drift network;
//   scoring: T * B forward + backward passes, counted as 3 forward passes;
//   floor = FLOPs / (measured single-core GEMM rate x ranks).
// Usage: mpirun -np R bench_iteration [CONFIG.yaml] [--iterations N] [--set key=value ...]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/config.h"
#include "core/cpu_setup.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "train/job.h"

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  std::unique_ptr<tilt::Communicator> comm = tilt::make_mpi_world();
  const tilt::bench::Arguments args = tilt::bench::parse_arguments(
      argc, argv, std::string(TILT_SOURCE_DIR) + "/configs/samplers/gmm25_tb.yaml");
  const std::string& config_path = args.config_path;
  const int iterations = args.iterations;
  const std::vector<std::string>& overrides = args.overrides;
  try {
    tilt::configure_threads(tilt::cores_per_rank(*comm));
    const tilt::Config config = tilt::load_config(config_path, overrides);
    tilt::Job job(config);
    tilt::Adam adam = job.make_optimizer();
    tilt::GradientSync sync;
    const tilt::BatchShard shard = tilt::shard_batch(config.train.batch, comm->rank(), comm->size());

    const double gemm_square = tilt::bench::gemm_rate(1024, 1024, 1024);
    const int hidden = config.network.hidden;
    const double gemm_skinny = tilt::bench::gemm_rate(config.process.steps * shard.count, hidden, hidden);
    double rates[2] = {gemm_square, gemm_skinny};
    comm->all_reduce_sum(rates, 2);  // machine rate: the sum over ranks

    // The trainer's own step, timed by phase; 3 warm-up iterations first.
    tilt::StepPhases warmup, phases;
    for (int it = -3; it < iterations; ++it)
      tilt::train_step(job, adam, sync, *comm, static_cast<uint32_t>(std::max(it, 0)), shard, {},
                       it < 0 ? &warmup : &phases);
    const double rollout_s = phases.batch_s / iterations, scoring_s = phases.gradients_s / iterations,
                 sync_s = phases.update_s / iterations;

    if (comm->is_root()) {
      const double transitions = static_cast<double>(config.process.steps) * config.train.batch;
      const double flops = job.policy().flops_per_sample();
      const double rollout_flops = transitions * flops, scoring_flops = 3 * transitions * flops;
      const double total_s = rollout_s + scoring_s + sync_s;
      std::printf("# tilt bench_iteration: %s\n", config_path.c_str());
      std::printf(
          "# objective %s, ranks %d, batch %d (global), T %d, D %d, network %dx%d (%d hidden layers), "
          "%.0f FLOP per sample-step forward\n",
          config.objective_name().c_str(), comm->size(), config.train.batch, config.process.steps,
          config.dim(), hidden, hidden, config.network.layers, flops);
      std::printf(
          "# machine GEMM rate (sum over ranks): %.1f GFLOP/s for 1024^3, %.1f GFLOP/s for %lldx%dx%d\n",
          rates[0], rates[1], static_cast<long long>(config.process.steps * shard.count), hidden, hidden);
      std::printf("%-10s %12s %16s %12s %14s %14s %10s\n", "phase", "time_ms", "transitions/s", "GFLOP/s",
                  "floor_ms_1024", "floor_ms_skinny", "x_floor");
      const auto row = [&](const char* phase, double seconds, double work) {
        const double floor_square = work / (rates[0] * 1e9), floor_skinny = work / (rates[1] * 1e9);
        std::printf("%-10s %12.2f %16.3e %12.2f %14.2f %14.2f %10.2f\n", phase, seconds * 1e3,
                    transitions / seconds, work / seconds / 1e9, floor_square * 1e3, floor_skinny * 1e3,
                    seconds / floor_square);
      };
      row("rollout", rollout_s, rollout_flops);
      row("scoring", scoring_s, scoring_flops);
      std::printf("%-10s %12.2f\n", "sync+adam", sync_s * 1e3);
      row("iteration", total_s, rollout_flops + scoring_flops);
      std::printf("iterations/s %.2f\n", 1.0 / total_s);
    }
  } catch (const std::exception& e) {
    comm->abort(e.what());
  }
  return 0;
}
