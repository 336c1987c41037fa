#include <vector>

#include "mixture_drift/mixture_drift.h"
#include "simd/simd_ops.h"

namespace tilt::kernels {

void mixture_follmer_drift_cpu(const MixtureView& mixture, const float* x, int64_t rows, float t, float* u) {
  std::vector<MixtureComponentAtTime> table(mixture.components);
  for (int c = 0; c < mixture.components; ++c) table[c] = mixture_component_at(mixture, c, t);
  simd_ops().mixture_drift(mixture, table.data(), x, rows, u);
}

}  // namespace tilt::kernels
