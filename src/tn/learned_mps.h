// A learned probability MPS (research/tn_mdm_guidance.md §A.2, "option 1"): A_i = exp(theta_i), so
// non-negative by construction, theta_i float64 [chi_{i-1}, q, chi_i] with chi = `bond` inside
// and 1 at the ends, trained by Adam on the mean negative log-likelihood of samples, by autograd
// through the rescaled contractions. Data-parallel: each rank holds its rows of a global batch,
// the gradients are summed over ranks and scaled by the global batch: N ranks take one rank's step.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "io/hdf5_file.h"
#include "model/parameters.h"
#include "tn/mps.h"
#include "train/adam.h"

namespace tilt::tn {

class LearnedMps {
 public:
  // theta starts at kInitialStd N(0, 1) from the seed (the same on every rank; learned_mps.cpp).
  LearnedMps(int sites, int64_t states, int64_t bond, double lr, uint64_t seed);

  Mps mps() const;  // exp(theta), differentiable
  // One Adam step (its learning rate times lr_scale: a schedule's factor) on the mean negative
  // log-likelihood of the global batch of `global_rows` rows, this rank's rows x int64 [n, N];
  // returns that mean (nats, every rank).
  double train_step(const at::Tensor& x, int64_t global_rows, Communicator& comm, double lr_scale = 1.0);
  std::vector<NamedTensor> parameters() const;  // "theta/<site>"
  void save(io::H5File& file) const;
  void load(const io::H5File& file);

 private:
  std::vector<at::Tensor> theta_;
  std::unique_ptr<Adam> adam_;
  GradientSync sync_;
};

}  // namespace tilt::tn
