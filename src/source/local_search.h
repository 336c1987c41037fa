// Parallel MALA local search (Sendera et al. §4.2, research/rtb.md §1.4) on the target's unnormalised
// density pi (R for samplers, p r^beta for posteriors):
//   x' = x + eta grad log pi(x) + sqrt(2 eta) xi,  accepted with min(1, pi(x') q(x | x') / (pi(x) q(x' |
//   x))),
// after every step eta is multiplied by 1 + adapt (acceptance above the target, 0.574) or 1 - adapt,
// from the acceptance of the step over all chains on all ranks, so every rank keeps the same eta and
// N ranks run the chains one rank would. Accepted proposals after burn-in are what it returns. The
// step size carries over from one call to the next (the reference code resets it every call).
#pragma once

#include <ATen/core/Tensor.h>

#include "core/config_section.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "target/target.h"

namespace tilt {

struct LocalSearchOptions {
  int every = 100;         // iterations between refreshes of the local-search buffer
  int steps = 200;         // MALA steps per refresh
  int burn_in = 100;       // steps whose accepted proposals are not kept
  double step_size = 0.1;  // initial eta
  double target_acceptance = 0.574;
  double adapt = 0.1;         // relative change of eta per step (0: a fixed step size)
  int64_t capacity = 600000;  // of the local-search buffer
  static LocalSearchOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class LocalSearch {
 public:
  LocalSearch(const LocalSearchOptions& options, const Target& target);

  struct Result {
    at::Tensor states;  // float32 [M, D]: this rank's accepted post-burn-in proposals
    at::Tensor
        step_and_row;       // int64 [M, 2]: the MALA step and global chain row of each, for a canonical order
    double acceptance = 0;  // over all steps, chains and ranks
  };
  // Runs the chains starting at `start` [B_r, D], global rows row_begin .. row_begin + B_r, with noise
  // from (RngStream::kLocalSearch, iteration).
  Result run(const at::Tensor& start, const CounterRng& rng, uint32_t iteration, int64_t row_begin,
             Communicator& comm);

  double step_size() const { return step_size_; }
  void set_step_size(double step_size) { step_size_ = step_size; }
  const LocalSearchOptions& options() const { return options_; }

 private:
  LocalSearchOptions options_;
  const Target& target_;
  double step_size_;
};

}  // namespace tilt
