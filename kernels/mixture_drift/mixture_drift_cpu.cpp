#include <vector>

#include "mixture_drift/mixture_drift.h"

namespace tilt::kernels {

void mixture_follmer_drift_cpu(const MixtureView& mixture, const float* x, int64_t rows, float t, float* u) {
  std::vector<MixtureComponentAtTime> table(mixture.components);
  for (int c = 0; c < mixture.components; ++c) table[c] = mixture_component_at(mixture, c, t);
  const auto at = [&](int c) { return table[c]; };
  for (int64_t r = 0; r < rows; ++r)
    mixture_follmer_drift_with(mixture, at, x + r * mixture.dim, u + r * mixture.dim);
}

}  // namespace tilt::kernels
