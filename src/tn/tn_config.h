// A tensor-network Monte Carlo run's config (`method: tn`; configs/tn/, docs/tn.md), read and
// validated like every tilt config (unknown keys, types, ranges; defaults written back):
//   seed; model {kind: ising, lx, ly (even, >= 4: around the cylinder), beta}; mps {bond,
//   iterations, batch, lr, lr_final_fraction, training_chains, burn_in_sweeps, log_every,
//   checkpoint_every};
//   chains {count, burn_in, steps, noise_times (the connected scheme's gamma t values)};
// or, with model {kind: fredkin, sites, c}, the exact Fredkin MPS's denoising study:
//   denoising {samples, noise_times, reverse_steps} (and no mps or chains section).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tn/ising.h"

namespace tilt::tn {

// The Fredkin chain's exact MPS sampled, noised for each noise time and denoised exactly in one step
// and in `reverse_steps` steps (tn/fredkin_study.h).
struct FredkinStudy {
  int sites = 64;
  double c = 0.5;
  int64_t samples = 4096;
  std::vector<double> noise_times = {0.02, 0.05, 0.1, 0.2, 0.5, 1.0};
  int reverse_steps = 4;
};

struct TnConfig {
  uint64_t seed = 0;
  std::optional<FredkinStudy> fredkin;  // set: the run is the Fredkin study, the Ising fields unused
  IsingCylinder lattice;
  int64_t bond = 16;
  int iterations = 300;
  int64_t batch = 512;
  double lr = 0.05;
  // The learning rate falls linearly from lr to lr x lr_final_fraction at the last iteration (1:
  // constant): late steps average the minibatch noise instead of riding it.
  double lr_final_fraction = 1.0;
  double lr_scale(int iteration) const;
  int64_t training_chains = 2048;
  int burn_in_sweeps = 1000;
  int log_every = 50;
  int checkpoint_every = 100;
  int64_t chains = 64;
  int chain_burn_in = 100;
  int chain_steps = 2000;
  std::vector<double> noise_times = {0.05, 0.1, 0.2, 0.5, 1.0};
};

TnConfig parse_tn_config(const std::string& yaml_text, const std::vector<std::string>& overrides = {});
TnConfig load_tn_config(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
std::string to_yaml(const TnConfig& config);

}  // namespace tilt::tn
