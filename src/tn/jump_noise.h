// Discrete noise by Markov jump dynamics, applied exactly (research/tn_mdm_guidance.md §A.2): each
// site jumps at rate gamma to each of its q states (a jump to itself changes nothing; q = 2: spin
// flips at rate gamma), so at rate q gamma to a uniformly drawn state, and after a time t
//   K_t = e^{-q gamma t} I + (1 - e^{-q gamma t}) 1 1^T / q     (q = 2: independent spin flips,
// each with probability (1 - e^{-2 gamma t}) / 2), a product over sites. Noising an MPS maps its
// site tensors by K_t (Mps::map_sites); the exact reverse kernel from a noised y is
//   P(x | y) ∝ prod_i K_t(y_i | x_i) P(x),
// an MPS with per-site weights, sampled autoregressively (denoise): one exact step for any t. The
// reverse kernel to an earlier time t' < t is the same with the MPS noised to t' and the kernel
// K_{t - t'}: P(x_t' | x_t) ∝ K_{t-t'}(x_t | x_t') P_t'(x_t') (denoise_to), so denoising in several
// exact steps t -> t' -> ... -> 0 samples the same P(x | y) as one.
#pragma once

#include <ATen/core/Tensor.h>

#include "core/rng.h"
#include "tn/mps.h"

namespace tilt::tn {

// K_t [q, q] float64, K[y, x] = P(y | x), for gamma t >= 0.
at::Tensor uniform_jump_kernel(int64_t states, double gamma_t);
// y ~ prod_i K(. | x_i) for x int64 [B, N] (global rows row_begin.. of `draw`).
at::Tensor add_noise(const at::Tensor& x, const at::Tensor& kernel, const CounterRng& rng, uint32_t draw,
                     int64_t row_begin);
// x ~ P(x | y) for the MPS `clean` and noised observations y int64 [B, N] under `kernel`.
at::Tensor denoise(const Mps& clean, const at::Tensor& y, const at::Tensor& kernel, const CounterRng& rng,
                   uint32_t draw, int64_t row_begin);
// x_{t'} ~ P(x_{t'} | x_t = y) for gamma t > gamma t' >= 0 (q states a site).
at::Tensor denoise_to(const Mps& clean, const at::Tensor& y, double gamma_t, double gamma_t_earlier,
                      const CounterRng& rng, uint32_t draw, int64_t row_begin);
// log P(x | y) [B] for pairs of rows, exact: log P(x) + sum_i log K(y_i | x_i) - log P_t(y).
at::Tensor denoise_log_prob(const Mps& clean, const at::Tensor& x, const at::Tensor& y,
                            const at::Tensor& kernel);

}  // namespace tilt::tn
