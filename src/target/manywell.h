// Manywell (Sendera et al. §3; from Midgley et al.'s FAB): D/2 independent copies of the 2-D
// double well  log R(a, b) = -a^4 + 6 a^2 + a/2 - b^2/2, D = 32 in the benchmark (2^16 modes).
// Unnormalised: log Z = (D/2) (log int e^{-a^4 + 6a^2 + a/2} da + log sqrt(2 pi)), the 1-D integral by
// quadrature; the exact sampler draws each a by inverting its tabulated CDF and each b ~ N(0, 1).
#pragma once

#include "core/config_section.h"
#include "target/target.h"

namespace tilt {

struct ManywellOptions {
  int dim = 32;  // even: D/2 double wells
  static ManywellOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class Manywell final : public Target, public GroundTruth {
 public:
  explicit Manywell(const ManywellOptions& options);
  int64_t dim() const override { return options_.dim; }
  at::Tensor log_reward(const at::Tensor& x) const override;
  at::Tensor grad_log_reward(const at::Tensor& x) const override;
  const GroundTruth* truth() const override { return this; }

  double log_z() const override { return log_z_; }
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const override;
  at::Tensor log_density(const at::Tensor& x) const override;

  // log of the 1-D well's normaliser, int e^{-a^4 + 6a^2 + a/2} da.
  double log_well_normaliser() const { return log_well_normaliser_; }

 private:
  ManywellOptions options_;
  at::Tensor grid_, cdf_;  // float64: the well coordinate's CDF tabulated on a fine grid
  double log_well_normaliser_;
  double log_z_;
};

int manywell_dim(const YAML::Node& resolved);
std::unique_ptr<Target> make_manywell(const YAML::Node& resolved);

}  // namespace tilt
