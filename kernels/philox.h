// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11) and the Box-Muller map to
// standard normals. Shared by the CPU backend and the CUDA kernels: every value is a pure function
// of (key, counter), so any rank or thread can produce any slice of a stream without sequential
// state, and a run's noise does not depend on how its batch is split across ranks.
//
// Cost: 10 rounds of 2 32x32->64 multiplies per 4 outputs; no memory traffic beyond the output.
#pragma once

#include <cmath>
#include <cstdint>

#include "common.h"

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

// The stream keys of CounterRng (src/core/rng.h): the seed's words, the second mixed with the stream.
struct PhiloxKey {
  uint32_t k0, k1;
};
TILT_HOST_DEVICE inline PhiloxKey philox_key(uint64_t seed, uint32_t stream) {
  return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32) ^ (stream * 0x85EBCA6Bu)};
}

// Standard normals 4 * block .. 4 * block + 3 of row `row` at (step, iteration): the values
// CounterRng::normal puts in columns 4 block .. 4 block + 3.
TILT_HOST_DEVICE inline void philox_normal4(PhiloxKey key, uint32_t row, uint32_t block, uint32_t step,
                                            uint32_t iteration, float out[4]) {
  const Philox4x32 bits = philox4x32_10(Philox4x32{{row, block, step, iteration}}, key.k0, key.k1);
  box_muller(philox_uniform(bits.v[0]), philox_uniform(bits.v[1]), out[0], out[1]);
  box_muller(philox_uniform(bits.v[2]), philox_uniform(bits.v[3]), out[2], out[3]);
}

}  // namespace tilt::kernels
