#include "tn/fredkin_study.h"

#include <torch/torch.h>

#include <cstdio>
#include <limits>
#include <sstream>

#include "core/cpu_setup.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"
#include "io/run_files.h"
#include "tn/fredkin.h"
#include "tn/jump_noise.h"
#include "train/method_loop.h"
#include "train/run_control.h"

namespace tilt::tn {
namespace {

using Metrics = std::vector<std::pair<std::string, double>>;
const char* const kStudyFile = "fredkin_study.h5";

// The mean height at every bond (after sites 1..N-1) over every rank's rows, with its standard error.
struct HeightProfile {
  at::Tensor mean, std_error;  // float64 [N - 1]
};

HeightProfile height_profile(const at::Tensor& x, int64_t total_rows, Communicator& comm) {
  const at::Tensor h = heights(x).narrow(1, 0, x.size(1) - 1).to(torch::kFloat64);
  at::Tensor sums = torch::stack({h.sum(0), h.square().sum(0)}).contiguous();
  comm.all_reduce_sum(sums.data_ptr<double>(), sums.numel());
  const double n = static_cast<double>(total_rows);
  const at::Tensor mean = sums[0] / n;
  const at::Tensor variance = (sums[1] / n - mean.square()).clamp_min(0) * (n / (n - 1));
  return {mean, (variance / n).sqrt()};
}

// max over bonds of |mean - exact| / standard error (a bond whose height never varies must match exactly).
double max_z(const HeightProfile& profile, const at::Tensor& exact) {
  const at::Tensor difference = (profile.mean - exact).abs();
  const at::Tensor z =
      torch::where(profile.std_error > 0, difference / profile.std_error,
                   torch::where(difference > 1e-12, std::numeric_limits<double>::infinity(), 0.0));
  return z.max().item<double>();
}

// The share of rows over every rank for which `hits` [rows] holds.
double global_share(const at::Tensor& hits, int64_t total_rows, Communicator& comm) {
  double count = hits.to(torch::kFloat64).sum().item<double>();
  comm.all_reduce_sum(&count, 1);
  return count / static_cast<double>(total_rows);
}

}  // namespace

TrainResult run_fredkin_study(const TnConfig& config, const TrainOptions& options, Communicator& comm) {
  const FredkinStudy& study = *config.fredkin;
  configure_threads(cores_per_rank(comm));
  const std::string resolved = to_yaml(config);
  const bool verbose = comm.is_root() && !options.quiet;
  const CounterRng rng(config.seed);
  // Nothing is checkpointed: a resumed study starts again.
  const PreparedRunDirectory run_directory(options, resolved, comm, [](const std::filesystem::path&) {});
  if (verbose)
    std::printf("tilt: tn Fredkin study, N = %d, c = %.3f, %d ranks: %lld samples, %zu noise times -> %s\n",
                study.sites, study.c, comm.size(), static_cast<long long>(study.samples),
                study.noise_times.size(), options.run_dir.c_str());
  torch::NoGradGuard no_grad;
  const Mps mps = fredkin_mps(study.sites, study.c);
  const at::Tensor marginals = mps.bond_marginals();
  const at::Tensor exact_height = (marginals * torch::arange(marginals.size(1), torch::kFloat64)).sum(1);
  const BatchShard shard = shard_batch(study.samples, comm.rank(), comm.size());
  const at::Tensor x = mps.sample(rng, 0, shard.begin, shard.count);
  const HeightProfile sampled = height_profile(x, study.samples, comm);
  Metrics metrics{{"log_z", mps.log_norm().item<double>()},
                  {"exact_mid_height", exact_height[study.sites / 2 - 1].item<double>()},
                  {"sampled_height_max_z", max_z(sampled, exact_height)}};

  const int64_t times = static_cast<int64_t>(study.noise_times.size());
  at::Tensor noised_dyck = torch::empty({times}, torch::kFloat64),
             denoised_dyck = torch::empty_like(noised_dyck), multistep_dyck = torch::empty_like(noised_dyck),
             overlap = torch::empty_like(noised_dyck), height_z = torch::empty_like(noised_dyck),
             multistep_height_z = torch::empty_like(noised_dyck),
             denoised_height = torch::empty({times, study.sites - 1}, torch::kFloat64);
  for (int64_t k = 0; k < times; ++k) {
    const double t = study.noise_times[static_cast<size_t>(k)];
    const uint32_t draw = 1 + static_cast<uint32_t>(k * (1 + study.reverse_steps));
    const at::Tensor kernel = uniform_jump_kernel(2, t);
    const at::Tensor y = add_noise(x, kernel, rng, draw, shard.begin);
    const at::Tensor one_step = denoise(mps, y, kernel, rng, draw, shard.begin);
    at::Tensor stepped = y;
    for (int s = 0; s < study.reverse_steps; ++s)
      stepped =
          denoise_to(mps, stepped, t * (study.reverse_steps - s) / study.reverse_steps,
                     t * (study.reverse_steps - s - 1) / study.reverse_steps, rng, draw + 1 + s, shard.begin);
    const HeightProfile one_step_profile = height_profile(one_step, study.samples, comm);
    noised_dyck[k] = global_share(is_dyck_path(y), study.samples, comm);
    denoised_dyck[k] = global_share(is_dyck_path(one_step), study.samples, comm);
    multistep_dyck[k] = global_share(is_dyck_path(stepped), study.samples, comm);
    overlap[k] = global_share((one_step == x).to(torch::kFloat64).mean(1), study.samples, comm);
    height_z[k] = max_z(one_step_profile, exact_height);
    multistep_height_z[k] = max_z(height_profile(stepped, study.samples, comm), exact_height);
    denoised_height[k].copy_(one_step_profile.mean);
    std::ostringstream name;
    name << "_t" << t;
    const std::string suffix = name.str();
    for (const auto& [metric, values] :
         {std::pair<const char*, const at::Tensor&>{"noised_dyck_fraction", noised_dyck},
          {"denoised_dyck_fraction", denoised_dyck},
          {"multistep_dyck_fraction", multistep_dyck},
          {"overlap", overlap},
          {"height_max_z", height_z},
          {"multistep_height_max_z", multistep_height_z}})
      metrics.emplace_back(metric + suffix, values[k].item<double>());
    if (verbose)
      std::printf(
          "tilt: gamma t %-6g noised Dyck %.4f  denoised Dyck %.4f (%d steps: %.4f)  overlap %.3f  "
          "height max |z| %.2f (%d steps: %.2f)\n",
          t, noised_dyck[k].item<double>(), denoised_dyck[k].item<double>(), study.reverse_steps,
          multistep_dyck[k].item<double>(), overlap[k].item<double>(), height_z[k].item<double>(),
          study.reverse_steps, multistep_height_z[k].item<double>());
  }
  on_root_for_all(comm, "write the study", [&] {
    io::write_atomically(options.run_dir / kStudyFile, [&](io::H5File& file) {
      file.write("/exact_height", exact_height);
      file.write("/sampled_height", sampled.mean);
      file.write("/sampled_height_std_error", sampled.std_error);
      file.write("/noise_time", torch::tensor(study.noise_times, torch::kFloat64));
      file.write("/noised_dyck_fraction", noised_dyck);
      file.write("/denoised_dyck_fraction", denoised_dyck);
      file.write("/multistep_dyck_fraction", multistep_dyck);
      file.write("/overlap", overlap);
      file.write("/height_max_z", height_z);
      file.write("/multistep_height_max_z", multistep_height_z);
      file.write("/denoised_height", denoised_height);
      file.write_string("/config", resolved);
    });
    write_final_metrics(options.run_dir, metrics, verbose);
  });
  return {TrainOutcome::kFinished, metrics};
}

}  // namespace tilt::tn
