// Throughput of one DxMI iteration (src/dxmi/dxmi.h: rollout, energy step, T value steps, policy
// step) on however many MPI ranks it is launched with, beside the FLOP floor of the same network
// work (Dxmi::flops_per_iteration over the measured GEMM rate of all ranks, as bench_iteration).
// 2-D configs draw exact samples; image configs read batches of the image set through the sharded
// loader (the convolutions' floor is taken at the same GEMM rate: they run as GEMMs).
// Usage: mpirun -np R bench_dxmi [CONFIG.yaml] [--iterations N] [--set key=value ...]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/cpu_setup.h"
#include "data/density2d.h"
#include "data/image_set.h"
#include "data/sharded_loader.h"
#include "dist/communicator.h"
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
    const tilt::CounterRng rng(config.seed);
    const tilt::BatchShard shard = tilt::shard_batch(config.batch, comm->rank(), comm->size());
    std::function<at::Tensor(uint32_t)> data;
    int dim = 2;
    if (config.is_image_data()) {
      const tilt::data::LabelledImages images = tilt::data::load_mnist_like(config.data_path, "train");
      dim = images.height * images.width;
      const tilt::data::ShardedLoader loader(images.size(), config.batch, config.seed, comm->rank(),
                                             comm->size());
      data = [images, loader](uint32_t draw) { return images.images.index_select(0, loader.indices(draw)); };
    } else {
      data = [density = std::shared_ptr(tilt::data::make_density2d(config.data)), &rng,
              shard](uint32_t draw) { return density->sample(rng, draw, shard.begin, shard.count); };
    }
    torch::manual_seed(config.seed);
    tilt::dxmi::Dxmi dxmi(config.options, dim, config.steps, config.network, config.spacing);
    double rate = tilt::bench::gemm_rate(1024, 1024, 1024);
    comm->all_reduce_sum(&rate, 1);  // machine rate: the sum over ranks
    const auto run = [&](uint32_t iteration) {
      dxmi.iteration(data(iteration), rng, iteration, shard, config.batch, *comm);
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
      std::printf("# ranks %d, batch %lld (global), T %d, %s on %s (dimension %d), %.3g FLOP per iteration\n",
                  comm->size(), static_cast<long long>(config.batch), config.steps,
                  config.network.kind.c_str(), config.data.c_str(), dim, flops);
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
