// The 25-mode grid mixture (means {-10, -5, 0, 5, 10}^2, variance 0.3, equal weights) as the flat
// arrays the kernels take: the shared fixture of the kernels' tests and benchmarks.
#pragma once

#include <cmath>
#include <vector>

#include "mixture_drift/mixture_drift.h"

namespace tilt::kernels {

struct Gmm25 {
  std::vector<float> means, log_weights, variances;
  Gmm25() {
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) {
        means.insert(means.end(), {-10.0f + 5 * i, -10.0f + 5 * j});
        log_weights.push_back(std::log(1.0f / 25));
        variances.push_back(0.3f);
      }
  }
  // A view of these host arrays, or of device copies of them in the same layout.
  MixtureView view(float sigma2, const float* means_at = nullptr, const float* log_weights_at = nullptr,
                   const float* variances_at = nullptr) const {
    return {25,
            2,
            means_at ? means_at : means.data(),
            log_weights_at ? log_weights_at : log_weights.data(),
            variances_at ? variances_at : variances.data(),
            sigma2};
  }
};

}  // namespace tilt::kernels
