// Throughput of one DxMI iteration (src/dxmi/dxmi.h: rollout, energy step, T value steps, policy
// step) on however many MPI ranks it is launched with, beside the FLOP floor of the same network
// work (Dxmi::flops_per_iteration over the measured GEMM rate of all ranks, as bench_iteration).
// Usage: mpirun -np R bench_dxmi [CONFIG.yaml] [--iterations N] [--set key=value ...]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/cpu_setup.h"
#include "dist/communicator.h"
#include "dxmi/density2d.h"
#include "dxmi/dxmi.h"
#include "dxmi/dxmi_config.h"

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  std::unique_ptr<tilt::Communicator> comm = tilt::make_mpi_world();
  const tilt::bench::Arguments args = tilt::bench::parse_arguments(
      argc, argv, std::string(TILT_SOURCE_DIR) + "/configs/dxmi/8gaussians_t4.yaml");
  const std::string& config_path = args.config_path;
  const int iterations = args.iterations;
  const std::vector<std::string>& overrides = args.overrides;
  try {
    tilt::configure_threads(tilt::cores_per_rank(*comm));
    const tilt::dxmi::DxmiConfig config = tilt::dxmi::load_dxmi_config(config_path, overrides);
    torch::manual_seed(config.seed);
    tilt::dxmi::Dxmi dxmi(config.options, 2, config.steps, config.network);
    const auto density = tilt::dxmi::make_density2d(config.data);
    const tilt::CounterRng rng(config.seed);
    const tilt::BatchShard shard = tilt::shard_batch(config.batch, comm->rank(), comm->size());
    double rate = tilt::bench::gemm_rate(1024, 1024, 1024);
    comm->all_reduce_sum(&rate, 1);  // machine rate: the sum over ranks
    const auto run = [&](uint32_t iteration) {
      dxmi.iteration(density->sample(rng, iteration, shard.begin, shard.count), rng, iteration, shard,
                     config.batch, *comm);
    };
    for (uint32_t it = 0; it < 3; ++it) run(it);
    comm->barrier();
    const auto start = std::chrono::steady_clock::now();
    for (int it = 0; it < iterations; ++it) run(static_cast<uint32_t>(3 + it));
    comm->barrier();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations;
    if (comm->is_root()) {
      const double flops = dxmi.flops_per_iteration(config.batch), floor = flops / (rate * 1e9);
      std::printf("# tilt bench_dxmi: %s\n", config_path.c_str());
      std::printf(
          "# ranks %d, batch %lld (global), T %d, network %dx%d (%d hidden layers), %.3g FLOP per "
          "iteration\n",
          comm->size(), static_cast<long long>(config.batch), config.steps, config.network.hidden,
          config.network.hidden, config.network.layers, flops);
      std::printf("# machine GEMM rate (sum over ranks): %.1f GFLOP/s for 1024^3\n", rate);
      std::printf("%-10s %12s %12s %14s %10s\n", "phase", "time_ms", "GFLOP/s", "floor_ms_1024", "x_floor");
      std::printf("%-10s %12.2f %12.2f %14.3f %10.2f\n", "iteration", seconds * 1e3, flops / seconds / 1e9,
                  floor * 1e3, seconds / floor);
      std::printf("iterations/s %.2f\n", 1.0 / seconds);
    }
  } catch (const std::exception& e) {
    comm->abort(e.what());
  }
  return 0;
}
