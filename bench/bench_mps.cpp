// Throughput of the MPS contractions (src/tn/mps.h) on however many MPI ranks it is launched with
// (each rank its share of the batch), beside their FLOP floors: a random non-negative MPS of N sites,
// q = 2 states and bond chi, float64.
//   log_prob    likelihood evaluations/s; a site is one GEMM [B, chi] x [chi, q chi]: 2 N q chi^2 a row
//   gradient    the NLL's forward and backward by autograd: ~3x the forward's FLOPs
//   sample      exact samples/s; the left pass is the same GEMM a site (the right environments are
//               shared by the batch): 2 N q chi^2 a sample
//   denoise     samples conditioned on a noised observation (exact denoising): every row its own right
//               environments too, 4 N q chi^2 a sample
// Ceilings: the float64 GEMM rate at 1024^3 summed over ranks (the machine's peak for this dtype), and
// the float64 rate of the shape these contractions run, [B / ranks, chi] x [chi, q chi] (skinny GEMMs
// run below the peak: the honest ceiling for this batch).
// Usage: mpirun -np R bench_mps [--sites N] [--bond CHI] [--batch B] [--iterations K]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "core/cpu_setup.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "tn/jump_noise.h"
#include "tn/mps.h"

namespace {

struct Options {
  int sites = 64;
  int64_t bond = 32, batch = 4096;
  int iterations = 10;
};

Options parse(int argc, char** argv) {
  Options out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--sites")
      out.sites = static_cast<int>(value);
    else if (flag == "--bond")
      out.bond = value;
    else if (flag == "--batch")
      out.batch = value;
    else if (flag == "--iterations")
      out.iterations = static_cast<int>(value);
    else
      throw tilt::Error("bench_mps: unknown flag " + flag + " (--sites, --bond, --batch, --iterations)");
  }
  if ((argc - 1) % 2 != 0) throw tilt::Error("bench_mps: every flag takes a value");
  if (out.sites < 2 || out.bond < 1 || out.batch < 1 || out.iterations < 1)
    throw tilt::Error("bench_mps: sites >= 2, bond, batch and iterations >= 1");
  return out;
}

tilt::tn::Mps random_mps(int sites, int64_t q, int64_t chi) {
  torch::manual_seed(0);
  std::vector<at::Tensor> tensors;
  for (int i = 0; i < sites; ++i)
    tensors.push_back(torch::rand({i == 0 ? 1 : chi, q, i == sites - 1 ? 1 : chi}, torch::kFloat64) + 0.05);
  return tilt::tn::Mps(tensors);
}

}  // namespace

int main(int argc, char** argv) {
  tilt::select_blas_kernels(argv);
  std::unique_ptr<tilt::Communicator> comm = tilt::make_mpi_world();
  try {
    const Options options = parse(argc, argv);
    tilt::configure_threads(tilt::cores_per_rank(*comm));
    const int64_t q = 2, chi = options.bond;
    const tilt::BatchShard shard = tilt::shard_batch(options.batch, comm->rank(), comm->size());
    const tilt::tn::Mps mps = random_mps(options.sites, q, chi);
    const tilt::CounterRng rng(0);
    const at::Tensor x = mps.sample(rng, 0, shard.begin, shard.count);
    const at::Tensor kernel = tilt::tn::uniform_jump_kernel(q, 0.2);
    const at::Tensor noised = tilt::tn::add_noise(x, kernel, rng, 1, shard.begin);

    double peak = tilt::bench::gemm_rate(1024, 1024, 1024, at::kDouble);
    double shaped = tilt::bench::gemm_rate(shard.count, chi, q * chi, at::kDouble);
    comm->all_reduce_sum(&peak, 1);
    comm->all_reduce_sum(&shaped, 1);

    const double site_gemm = 2.0 * options.sites * static_cast<double>(q * chi * chi);
    struct Operation {
      const char* name;
      const char* unit;
      double flops_per_row;
      std::function<void(uint32_t)> run;
    };
    const std::vector<Operation> operations{
        {"log_prob", "evaluations/s", site_gemm,
         [&](uint32_t) {
           torch::NoGradGuard no_grad;
           mps.log_prob(x);
         }},
        {"gradient", "rows/s", 3 * site_gemm,
         [&](uint32_t) {
           std::vector<at::Tensor> parameters;
           for (const auto& t : mps.tensors()) parameters.push_back(t.clone().requires_grad_(true));
           (-tilt::tn::Mps(parameters).log_prob(x).mean()).backward();
         }},
        {"sample", "samples/s", site_gemm,
         [&](uint32_t draw) { mps.sample(rng, 2 + draw, shard.begin, shard.count); }},
        {"denoise", "samples/s", 2 * site_gemm,
         [&](uint32_t draw) { tilt::tn::denoise(mps, noised, kernel, rng, 2 + draw, shard.begin); }},
    };
    if (comm->is_root())
      std::printf(
          "bench_mps: N = %d sites, q = %lld, chi = %lld, batch %lld on %d ranks, %d iterations\n"
          "float64 GEMM: peak %.1f GFLOP/s (1024^3), %.1f GFLOP/s at [%lld, %lld] x [%lld, %lld] "
          "(summed over ranks)\n"
          "%-9s %14s %-14s %10s %12s %12s %10s\n",
          options.sites, static_cast<long long>(q), static_cast<long long>(chi),
          static_cast<long long>(options.batch), comm->size(), options.iterations, peak, shaped,
          static_cast<long long>(shard.count), static_cast<long long>(chi), static_cast<long long>(chi),
          static_cast<long long>(q * chi), "operation", "rate", "", "GFLOP/s", "floor(peak)", "floor(shape)",
          "x shape");
    for (const Operation& op : operations) {
      op.run(0);
      comm->barrier();
      const auto start = std::chrono::steady_clock::now();
      for (int it = 0; it < options.iterations; ++it) op.run(static_cast<uint32_t>(1 + it));
      comm->barrier();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                             options.iterations;
      const double flops = op.flops_per_row * static_cast<double>(options.batch);
      if (comm->is_root())
        std::printf("%-9s %14.0f %-14s %10.2f %10.2f ms %10.2f ms %9.2fx\n", op.name,
                    static_cast<double>(options.batch) / seconds, op.unit, flops / seconds / 1e9,
                    1e3 * flops / (peak * 1e9), 1e3 * flops / (shaped * 1e9),
                    seconds / (flops / (shaped * 1e9)));
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_mps: %s\n", error.what());
    return 1;
  }
  return 0;
}
