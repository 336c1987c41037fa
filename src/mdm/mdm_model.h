// A multivariate diffusion model: the linear process (mdm/linear_process.h, learned Q/D or fixed)
// and the noise predictor eps_theta(y, t) on the K d values of a state (the DxMI family's networks,
// dxmi/networks.h: the Fourier MLP for 2-D data, the U-Net with the K variables as image channels
// for images), trained together by Adam on the negative ELBO
// (mdm/elbo.h) and sampled by Euler-Maruyama on the reverse SDE.
// Data-parallel: each rank holds its rows of a global batch; all noise comes from the counter RNG
// by global row, gradients are summed over ranks and scaled by the global batch, and the
// gradient clip reads the summed gradient: N ranks take the step one rank takes.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "core/rng.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "dxmi/networks.h"
#include "io/hdf5_file.h"
#include "mdm/elbo.h"
#include "mdm/linear_process.h"
#include "train/adam.h"

namespace tilt::mdm {

struct MdmOptions {
  ProcessConfig process;
  dxmi::ArchitectureConfig network =
      dxmi::mlp_architecture(/*hidden=*/128, /*fourier_features=*/16, /*layers=*/3);
  double t_min = 1e-3;
  double lr = 1e-3;
  double grad_clip = 2.0;  // on the global gradient norm (0: none)
};

class MdmModel {
 public:
  MdmModel(const MdmOptions& options, int dim, uint64_t seed);

  // ELBO(x) without the offset term per example [n] float64 for this rank's rows `shard` of a
  // global batch, noise `draw`; and the offset term (mdm/elbo.h) for the same rows and draw.
  at::Tensor elbo(const at::Tensor& x, const CounterRng& rng, uint32_t draw, const BatchShard& shard) const;
  at::Tensor offset(const at::Tensor& x, const CounterRng& rng, uint32_t draw, const BatchShard& shard) const;
  // One Adam step on the negative mean ELBO of the global batch; returns that mean (nats, all ranks).
  double train_step(const at::Tensor& x, const CounterRng& rng, uint32_t iteration, const BatchShard& shard,
                    Communicator& comm);
  // Euler-Maruyama on the reverse SDE from N(0, I) at t = 1 to t_min over `steps` on the quadratic
  // grid t_i = t_min + (1 - t_min) (i / steps)^2, the last step without noise: this rank's rows
  // `shard` of the data block x [count, d].
  at::Tensor sample(const CounterRng& rng, uint32_t draw, const BatchShard& shard, int steps) const;

  const LinearProcess& process() const { return process_; }
  std::vector<NamedTensor> parameters() const;  // network/..., process/...
  void save(io::H5File& file) const;
  void load(const io::H5File& file);

 private:
  NoisePredictor predictor() const;

  MdmOptions options_;
  int dim_;
  LinearProcess process_;
  std::unique_ptr<dxmi::StateTimeNetwork> network_;
  std::unique_ptr<Adam> adam_;
  GradientSync sync_;
};

}  // namespace tilt::mdm
