// What a DxMI run trains on and how it is judged, behind one seam so that the run loop
// (train_dxmi.h) is the same for every data set:
//   8gaussians, checkerboard   exact 2-D densities: exact samples each iteration, evaluate_2d.h;
//   fashion_mnist              an image set read from IDX files (data/), batches from the sharded
//                              loader, evaluate_images.h (feature Fréchet distance, MMD, anomaly AUROC).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "core/rng.h"
#include "dist/communicator.h"
#include "dxmi/dxmi.h"
#include "dxmi/dxmi_config.h"
#include "io/hdf5_file.h"

namespace tilt::dxmi {

class DxmiData {
 public:
  virtual ~DxmiData() = default;
  virtual int dim() const = 0;
  // This rank's rows (`shard`) of the run's global data batch number `draw`.
  virtual at::Tensor batch(const CounterRng& rng, uint32_t draw, const BatchShard& shard) = 0;
  // The starting sampler's metrics (no energy yet; images add the many-step reading of the prior)
  // and, on rank 0 when asked, the T-step samples they used.
  virtual Metrics evaluate_prior(const DiffusionSampler& sampler, const CounterRng& rng, Communicator& comm,
                                 at::Tensor* samples) = 0;
  // The trained sampler's and energy's metrics and, on rank 0, the samples they used.
  virtual Metrics evaluate(const Dxmi& dxmi, const CounterRng& rng, Communicator& comm,
                           at::Tensor* samples) = 0;
  // /samples [N, D] and what plots need beside it (exact densities, the image shape); with a trained
  // model (null after a prior-only run), 2-D data add its energy on the figure grid (/energy [y, x]).
  virtual void write_samples(io::H5File& file, const at::Tensor& samples, const Dxmi* trained) const = 0;
};

// Reads the data set (and, for images, obtains the feature classifier: dxmi/evaluate_images.h).
std::unique_ptr<DxmiData> make_dxmi_data(const DxmiConfig& config, Communicator& comm, bool verbose);

}  // namespace tilt::dxmi
