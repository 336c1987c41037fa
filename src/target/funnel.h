// Neal's funnel (Sendera et al. §3, research/rtb.md §2.1): x_0 ~ N(0, s^2), x_i | x_0 ~ N(0, e^{x_0})
// for i = 1 .. D-1; D = 10 and s^2 = 9 in the benchmark. R is the normalised density, so log Z = 0;
// the exact sampler draws x_0, then x_i given it. No modes: evaluated by log Z and sample distances.
#pragma once

#include "core/config_section.h"
#include "target/target.h"

namespace tilt {

struct FunnelOptions {
  int dim = 10;
  double variance = 9.0;  // of x_0
  static FunnelOptions read(ConfigSection& section);
  void write(YAML::Node& out) const;
};

class Funnel final : public Target, public GroundTruth {
 public:
  explicit Funnel(const FunnelOptions& options) : options_(options) {}
  int64_t dim() const override { return options_.dim; }
  at::Tensor log_reward(const at::Tensor& x) const override;
  at::Tensor grad_log_reward(const at::Tensor& x) const override;
  const GroundTruth* truth() const override { return this; }

  double log_z() const override { return 0.0; }
  at::Tensor sample(const CounterRng& rng, uint32_t draw, int64_t row_begin, int64_t rows) const override;
  at::Tensor log_density(const at::Tensor& x) const override;

 private:
  FunnelOptions options_;
};

int funnel_dim(const YAML::Node& resolved);
std::unique_ptr<Target> make_funnel(const YAML::Node& resolved);

}  // namespace tilt
