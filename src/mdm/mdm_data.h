// What a multivariate diffusion trains on and how it is judged, behind one seam so that the run
// loop (train_mdm.h) is the same for every data set:
//   8gaussians, checkerboard, 2spirals   exact 2-D densities: fresh exact samples each iteration;
//       the test ELBO in nats beside the exact log-likelihood of held-out exact samples;
//       reverse-SDE samples against exact ones (data/sample_metrics_2d.h).
//   fashion_mnist   an IDX image set: batches from the sharded loader, dequantised and
//       logit-transformed with fresh noise each iteration (data/logit_images.h); bits per dimension
//       on the test set; sample grids.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "dist/communicator.h"
#include "io/hdf5_file.h"
#include "mdm/mdm_config.h"
#include "mdm/mdm_model.h"

namespace tilt::mdm {

using Metrics = std::vector<std::pair<std::string, double>>;

class MdmData {
 public:
  virtual ~MdmData() = default;
  virtual int dim() const = 0;
  // This rank's rows (`shard`) of the run's global training batch `iteration`, in the model's space.
  virtual at::Tensor batch(const CounterRng& rng, uint32_t iteration, const BatchShard& shard) = 0;
  // The held-out metrics of the ELBO (eval.examples; each rank its share, sums reduced: the same on
  // every rank).
  virtual Metrics evaluate_elbo(const MdmModel& model, const CounterRng& rng, Communicator& comm) const = 0;
  // Metrics of the reverse-SDE samples whose rows on this rank are `rows` (model space; `total`
  // over all ranks) and, on rank 0, all of them in data space.
  virtual Metrics evaluate_samples(const at::Tensor& rows, const CounterRng& rng, int64_t total,
                                   Communicator& comm, at::Tensor* samples) const = 0;
  // /samples [N, D] and what plots need beside it (exact densities, /images for grids).
  virtual void write_samples(io::H5File& file, const at::Tensor& samples) const = 0;
};

// Reads the data set (images: the training and test IDX files; the loader for the run's batch).
std::unique_ptr<MdmData> make_mdm_data(const MdmConfig& config, Communicator& comm, bool verbose);

}  // namespace tilt::mdm
