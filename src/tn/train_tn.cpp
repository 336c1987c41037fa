#include "tn/train_tn.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>

#include "core/cpu_setup.h"
#include "data/sharded_loader.h"
#include "dist/gather.h"
#include "io/atomic_file.h"
#include "io/hdf5_file.h"
#include "io/metrics_table.h"
#include "io/run_files.h"
#include "tn/fredkin_study.h"
#include "tn/learned_mps.h"
#include "tn/monte_carlo.h"
#include "train/checkpoint.h"
#include "train/method_loop.h"
#include "train/run_control.h"

namespace tilt::tn {
namespace {

using Metrics = std::vector<std::pair<std::string, double>>;

// Draws: the training and held-out chains' sweeps use [0, burn_in_sweeps) (their random start:
// kStartDraw), by global chain (the held-out chains after the training chains);
// scheme s's chains use kSamplingDraws + s 2^20 onwards.
constexpr uint32_t kStartDraw = kExactSampleDraws;
constexpr uint32_t kStartStep = 6;
// 2^16 configurations contracted at once ([2^16, chi, chi] a site): exact up to the 4 x 4 cylinder.
constexpr int kExactEnumerationSites = 16;
// The held-out chains: a quarter as many as the training chains.
constexpr int64_t kHeldOutShare = 4;
// Samples of the MPS itself for its energy and |m| distributions (the proposal's bias), and their draw.
constexpr int64_t kProposalSamples = 16384;
constexpr uint32_t kProposalDraw = kExactSampleDraws + 1;
// The transfer matrix's 2^ly column states (exact energy and entropy): 2^16 doubles a spin row.
constexpr int kTransferMatrixRows = 16;
const char* const kStudyFile = "study.h5";

void check_resumable(const std::filesystem::path& checkpoint, const TnConfig& config) {
  const io::H5File file = io::H5File::open_read(checkpoint);
  TnConfig stored = parse_tn_config(file.read_string("/meta/config"));
  stored.iterations = config.iterations;
  stored.log_every = config.log_every;
  stored.checkpoint_every = config.checkpoint_every;
  stored.chains = config.chains;
  stored.chain_burn_in = config.chain_burn_in;
  stored.chain_steps = config.chain_steps;
  stored.noise_times = config.noise_times;
  require_same_config(checkpoint, to_yaml(stored), to_yaml(config),
                      "mps.iterations, mps.log_every, mps.checkpoint_every and chains");
}

// Local Metropolis chains from uniformly random spins, the global chains [first, first + count), this
// rank's share, gathered: int64 [count, N].
at::Tensor metropolis_states(const TnConfig& config, int64_t first, int64_t count, const CounterRng& rng,
                             Communicator& comm) {
  const BatchShard shard = shard_batch(count, comm.rank(), comm.size());
  const int64_t row = first + shard.begin;
  at::Tensor x = (rng.uniform(RngStream::kTensorNetwork, kStartDraw, kStartStep, row, shard.count,
                              config.lattice.sites()) <= 0.5)
                     .to(torch::kInt64);
  metropolis_sweeps(config.lattice, x, config.burn_in_sweeps, rng, 0, row);
  return all_gather_rows(x.to(torch::kFloat32).contiguous(), comm).to(torch::kInt64);
}

// The distributions of the energy and of |m| over the lattice's levels, float64 probabilities:
// E = -B + 2k with k of the B bonds broken (B + 1 levels), N |m| = 2j (N / 2 + 1 levels; N even).
struct Histograms {
  at::Tensor energy, abs_m;
};

int64_t bonds(const IsingCylinder& lattice) { return (2 * int64_t{lattice.lx} - 1) * lattice.ly; }

// Counts over the levels of states seen on this rank (energy per site and |m| of the same shape).
Histograms level_counts(const IsingCylinder& lattice, const at::Tensor& energy_per_site,
                        const at::Tensor& abs_m) {
  const double n = lattice.sites();
  const at::Tensor k = ((energy_per_site.reshape(-1) * n + static_cast<double>(bonds(lattice))) / 2).round();
  const at::Tensor j = (abs_m.reshape(-1) * n / 2).round();
  return {torch::bincount(k.to(torch::kInt64), {}, bonds(lattice) + 1).to(torch::kFloat64),
          torch::bincount(j.to(torch::kInt64), {}, lattice.sites() / 2 + 1).to(torch::kFloat64)};
}

// Counts summed over ranks, normalised.
Histograms merged_distribution(Histograms counts, Communicator& comm) {
  for (at::Tensor* t : {&counts.energy, &counts.abs_m}) {
    *t = t->contiguous();
    comm.all_reduce_sum(t->data_ptr<double>(), t->numel());
    *t = *t / t->sum();
  }
  return counts;
}

struct SchemeResult {
  std::string name;
  double acceptance, tau_energy, tau_abs_m, energy_per_site, energy_std_error, abs_magnetisation;
  Histograms distribution;
  double seconds_per_step = 0;  // rank 0's wall time a step over its chains
};

// A scheme's traces over this rank's chains, merged over ranks (every chain's trace, in global order).
SchemeResult summarise(const IsingCylinder& lattice, const std::string& name, const ChainTrace& trace,
                       Communicator& comm) {
  double counts[2] = {static_cast<double>(trace.accepted), static_cast<double>(trace.proposed)};
  comm.all_reduce_sum(counts, 2);
  // [steps, C] per rank -> [C_total, steps] -> [steps, C_total]
  const auto merged = [&](const at::Tensor& t) {
    return all_gather_rows(t.transpose(0, 1).to(torch::kFloat32).contiguous(), comm)
        .transpose(0, 1)
        .to(torch::kFloat64);
  };
  const at::Tensor energy = merged(trace.energy_per_site), abs_m = merged(trace.abs_magnetisation);
  const double tau_energy = integrated_autocorrelation_time(energy);
  const double samples = static_cast<double>(energy.numel());
  return {name,
          counts[0] / counts[1],
          tau_energy,
          integrated_autocorrelation_time(abs_m),
          energy.mean().item<double>(),
          std::sqrt(energy.var().item<double>() * tau_energy / samples),
          abs_m.mean().item<double>(),
          merged_distribution(level_counts(lattice, trace.energy_per_site, trace.abs_magnetisation), comm)};
}

// The exact <|m|> and the MPS's exact KL divergence by enumerating every configuration.
Metrics exact_reference(const IsingCylinder& lattice, const Mps& mps) {
  torch::NoGradGuard no_grad;
  const int n = lattice.sites();
  const at::Tensor r = torch::arange(int64_t{1} << n, torch::kInt64).unsqueeze(1);
  const at::Tensor x =
      torch::bitwise_and(torch::bitwise_right_shift(r, torch::arange(n, torch::kInt64).unsqueeze(0)), 1);
  const at::Tensor log_weight = -lattice.beta * ising_energy(lattice, x);
  const at::Tensor log_pi = log_weight - torch::logsumexp(log_weight, 0);
  const at::Tensor pi = log_pi.exp();
  return {{"exact_abs_magnetisation", (pi * magnetisation(x).abs()).sum().item<double>()},
          {"mps_kl_exact", (pi * (log_pi - mps.log_prob(x))).sum().item<double>()}};
}

}  // namespace

TrainResult train_tn(const TnConfig& config, const TrainOptions& options, Communicator& comm) {
  if (config.fredkin) return run_fredkin_study(config, options, comm);
  const StopSignals stop_signals;
  configure_threads(cores_per_rank(comm));
  const std::string resolved = to_yaml(config);
  const bool verbose = comm.is_root() && !options.quiet;
  const CounterRng rng(config.seed);
  const PreparedRunDirectory run_directory(
      options, resolved, comm, [&](const std::filesystem::path& c) { check_resumable(c, config); });
  const IsingCylinder& lattice = config.lattice;
  if (verbose)
    std::printf(
        "tilt: tn on the %d x %d Ising cylinder at beta %.4f, %d ranks: %lld training chains "
        "(%d sweeps), MPS bond %lld, %d iterations -> %s\n",
        lattice.lx, lattice.ly, lattice.beta, comm.size(), static_cast<long long>(config.training_chains),
        config.burn_in_sweeps, static_cast<long long>(config.bond), config.iterations,
        options.run_dir.c_str());
  const at::Tensor training = metropolis_states(config, 0, config.training_chains, rng, comm);
  // Held out (chains after the training set's): the MPS's likelihood on states it was not fitted to.
  const at::Tensor held_out =
      metropolis_states(config, config.training_chains,
                        std::max<int64_t>(1, config.training_chains / kHeldOutShare), rng, comm);

  LearnedMps model(lattice.sites(), 2, config.bond, config.lr, config.seed);
  TrainingTables tables{{{"step", "negative_log_likelihood"}, {}},
                        {{"step", "iterations_per_s", "elapsed_s"}, {}}};
  int start = 0;
  if (run_directory.resuming())
    start =
        load_method_checkpoint(options.run_dir, tables, [&](const io::H5File& file) { model.load(file); });
  const data::ShardedLoader loader(training.size(0), config.batch, config.seed, comm.rank(), comm.size());
  const auto save = [&](int done) {
    on_root_for_all(comm, "write the checkpoint", [&] {
      save_method_checkpoint(options.run_dir, done, comm.size(), resolved, tables,
                             [&](io::H5File& file) { model.save(file); });
    });
  };
  const TrainOutcome outcome = run_iterations(
      start, {config.iterations, config.log_every, config.checkpoint_every}, "negative_log_likelihood",
      tables, options.run_dir, verbose, comm,
      [&](int step) {
        return model.train_step(training.index_select(0, loader.indices(step)), config.batch, comm,
                                config.lr_scale(step));
      },
      save);
  if (outcome != TrainOutcome::kFinished) return {outcome, {}};

  torch::NoGradGuard no_grad;
  const Mps proposal = model.mps();
  const at::Tensor held_out_log_q = proposal.log_prob(held_out);
  const double held_out_nll = -held_out_log_q.mean().item<double>();
  Metrics metrics{{"mps_negative_log_likelihood", -proposal.log_prob(training).mean().item<double>()},
                  {"mps_held_out_negative_log_likelihood", held_out_nll}};
  if (lattice.ly <= kTransferMatrixRows) {
    const IsingThermodynamics exact = exact_thermodynamics(lattice);
    metrics.emplace_back("exact_energy_per_site", exact.energy_per_site);
    metrics.emplace_back("exact_entropy_per_site", exact.entropy_per_site);
    // KL(pi || P_theta) = E_pi[-log P_theta] - H(pi), E_pi over the held-out states.
    metrics.emplace_back("mps_kl_estimate", held_out_nll - exact.entropy_per_site * lattice.sites());
    metrics.emplace_back("mps_kl_estimate_std_error", std::sqrt(held_out_log_q.var().item<double>() /
                                                                static_cast<double>(held_out.size(0))));
  }
  if (lattice.sites() <= kExactEnumerationSites)
    for (const auto& metric : exact_reference(lattice, proposal)) metrics.push_back(metric);

  // Reference distributions: pi's by the held-out chains (independent states), and the MPS's own.
  const auto distribution_of = [&](const at::Tensor& states) {
    return merged_distribution(
        level_counts(lattice, ising_energy(lattice, states) / lattice.sites(), magnetisation(states).abs()),
        comm);
  };
  const BatchShard held_out_shard = shard_batch(held_out.size(0), comm.rank(), comm.size());
  const Histograms pi_distribution =
      distribution_of(held_out.narrow(0, held_out_shard.begin, held_out_shard.count));
  const BatchShard proposal_shard = shard_batch(kProposalSamples, comm.rank(), comm.size());
  const Histograms proposal_distribution =
      distribution_of(proposal.sample(rng, kProposalDraw, proposal_shard.begin, proposal_shard.count));

  // Every scheme from the same training-set states, each rank its chains.
  const BatchShard shard = shard_batch(config.chains, comm.rank(), comm.size());
  const at::Tensor starts = training.narrow(0, shard.begin, shard.count);
  const int total_steps = config.chain_burn_in + config.chain_steps;
  using Scheme = std::function<ChainTrace(at::Tensor&, uint32_t)>;
  std::vector<std::pair<std::string, Scheme>> schemes{
      {"local",
       [&](at::Tensor& x, uint32_t draw) {
         return local_metropolis(lattice, x, total_steps, rng, draw, shard.begin);
       }},
      {"wolff",
       [&](at::Tensor& x, uint32_t draw) { return wolff(lattice, x, total_steps, rng, draw, shard.begin); }},
      {"disconnected", [&](at::Tensor& x, uint32_t draw) {
         return mps_metropolis_hastings(lattice, proposal, x, total_steps, std::nullopt, rng, draw,
                                        shard.begin);
       }}};
  for (const double t : config.noise_times) {
    std::ostringstream name;
    name << "connected_t" << t;
    schemes.emplace_back(name.str(), [&, t](at::Tensor& x, uint32_t draw) {
      return mps_metropolis_hastings(lattice, proposal, x, total_steps, t, rng, draw, shard.begin);
    });
  }
  std::vector<SchemeResult> results;
  for (size_t s = 0; s < schemes.size(); ++s) {
    at::Tensor x = starts.clone();
    const auto started = std::chrono::steady_clock::now();
    const ChainTrace trace = schemes[s].second(x, kSamplingDraws + (static_cast<uint32_t>(s) << 20));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto kept = [&](const at::Tensor& t) {
      return t.narrow(0, config.chain_burn_in, config.chain_steps);
    };
    results.push_back(summarise(
        lattice, schemes[s].first,
        {kept(trace.energy_per_site), kept(trace.abs_magnetisation), trace.accepted, trace.proposed}, comm));
    results.back().seconds_per_step = seconds / total_steps;
    const SchemeResult& r = results.back();
    if (verbose)
      std::printf("tilt: %-20s acceptance %.3f  tau(E) %.1f  tau(|m|) %.1f  E/N %.4f +- %.4f  %.2g s/step\n",
                  r.name.c_str(), r.acceptance, r.tau_energy, r.tau_abs_m, r.energy_per_site,
                  r.energy_std_error, r.seconds_per_step);
  }
  for (const SchemeResult& r : results) {
    metrics.emplace_back(r.name + "_acceptance", r.acceptance);
    metrics.emplace_back(r.name + "_tau_energy", r.tau_energy);
    metrics.emplace_back(r.name + "_tau_abs_magnetisation", r.tau_abs_m);
    metrics.emplace_back(r.name + "_energy_per_site", r.energy_per_site);
    metrics.emplace_back(r.name + "_energy_per_site_std_error", r.energy_std_error);
    metrics.emplace_back(r.name + "_abs_magnetisation", r.abs_magnetisation);
    metrics.emplace_back(r.name + "_seconds_per_step", r.seconds_per_step);
  }
  on_root_for_all(comm, "write the study", [&] {
    io::write_atomically(options.run_dir / kStudyFile, [&](io::H5File& file) {
      const auto column = [&](double SchemeResult::*field) {
        std::vector<double> values;
        for (const auto& r : results) values.push_back(r.*field);
        return torch::tensor(values, torch::kFloat64);
      };
      // Rows: local, wolff, disconnected, then the connected scheme at each noise time (NaN: none).
      std::vector<double> times{NAN, NAN, NAN};
      times.insert(times.end(), config.noise_times.begin(), config.noise_times.end());
      file.write("/noise_time", torch::tensor(times, torch::kFloat64));
      file.write("/acceptance", column(&SchemeResult::acceptance));
      file.write("/tau_energy", column(&SchemeResult::tau_energy));
      file.write("/tau_abs_magnetisation", column(&SchemeResult::tau_abs_m));
      file.write("/energy_per_site", column(&SchemeResult::energy_per_site));
      file.write("/energy_per_site_std_error", column(&SchemeResult::energy_std_error));
      file.write("/seconds_per_step", column(&SchemeResult::seconds_per_step));
      std::string names;
      for (const auto& r : results) names += r.name + "\n";
      file.write_string("/schemes", names);
      // The distributions: pi by the held-out chains, the MPS's samples, then every scheme's states.
      file.write_string("/distribution_rows", "held_out\nmps\n" + names);
      std::vector<at::Tensor> energy{pi_distribution.energy, proposal_distribution.energy},
          abs_m{pi_distribution.abs_m, proposal_distribution.abs_m};
      for (const auto& r : results) {
        energy.push_back(r.distribution.energy);
        abs_m.push_back(r.distribution.abs_m);
      }
      file.write("/energy_level",
                 (2 * torch::arange(bonds(lattice) + 1, torch::kFloat64) - bonds(lattice)) / lattice.sites());
      file.write("/abs_m_level",
                 2 * torch::arange(lattice.sites() / 2 + 1, torch::kFloat64) / lattice.sites());
      file.write("/energy_distribution", torch::stack(energy));
      file.write("/abs_m_distribution", torch::stack(abs_m));
      file.write_string("/config", resolved);
    });
    write_final_metrics(options.run_dir, metrics, verbose);
  });
  return {TrainOutcome::kFinished, metrics};
}

}  // namespace tilt::tn
