// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11) and the Box-Muller map to
// standard normals. Shared by the CPU backend and the CUDA kernels: every value is a pure function
// of (key, counter), so any rank or thread can produce any slice of a stream without sequential
// state, and a run's noise does not depend on how its batch is split across ranks.
//
// Cost: 10 rounds of 2 32x32->64 multiplies per 4 outputs; no memory traffic beyond the output.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TILT_HOST_DEVICE __host__ __device__
#else
#define TILT_HOST_DEVICE
#endif

namespace tilt::kernels {

struct Philox4x32 {
  uint32_t v[4];
};

TILT_HOST_DEVICE inline void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

TILT_HOST_DEVICE inline Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kMul0, counter.v[0], hi0, lo0);
    philox_mulhilo(kMul1, counter.v[2], hi1, lo1);
    counter = Philox4x32{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

// Maps 32 random bits to a float in (0, 1]: never 0, so log() in Box-Muller stays finite.
TILT_HOST_DEVICE inline float philox_uniform(uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 1.0f) * (1.0f / 16777216.0f);
}

// Two independent standard normals from two uniforms in (0, 1].
TILT_HOST_DEVICE inline void box_muller(float u1, float u2, float& z1, float& z2) {
  const float radius = sqrtf(-2.0f * logf(u1));
  const float angle = 6.283185307179586f * u2;
  z1 = radius * cosf(angle);
  z2 = radius * sinf(angle);
}

}  // namespace tilt::kernels
