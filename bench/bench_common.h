// What tilt's iteration benchmarks share: their command line, and the ceiling they print their FLOP
// floor against (the best of a few runs of C = A B through LibTorch's BLAS, in GFLOP/s on this
// rank's threads; float32 unless asked).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace tilt::bench {

// [CONFIG.yaml] [--iterations N] [--set key=value ...]
struct Arguments {
  std::string config_path;
  int iterations = 20;
  std::vector<std::string> overrides;
};

inline Arguments parse_arguments(int argc, char** argv, std::string default_config) {
  Arguments out;
  out.config_path = std::move(default_config);
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc)
      out.iterations = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--set") && i + 1 < argc)
      out.overrides.push_back(argv[++i]);
    else
      out.config_path = argv[i];
  }
  return out;
}

inline double gemm_rate(int64_t m, int64_t k, int64_t n, at::ScalarType dtype = at::kFloat) {
  const at::Tensor a = torch::randn({m, k}, dtype), b = torch::randn({k, n}, dtype);
  at::Tensor c = torch::mm(a, b);
  double best = 0;
  for (int repeat = 0; repeat < 5; ++repeat) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) c = torch::mm(a, b);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 3 * 2.0 * m * k * n / seconds / 1e9);
  }
  return best;
}

}  // namespace tilt::bench
