// The network rollout on a CUDA device: the time embedding of every step first (one block per step),
// then one thread per trajectory runs all T steps with its state and activations in registers and
// the network's weights in shared memory: state_in, the hidden layers, the output layer, the mixture
// prior if any, Philox noise and the step, with no memory traffic but the states (and the drifts)
// it writes. Latency-bound at small batches (one dependent chain of ~D H + L H^2 + H O FMAs a step).
#include "fourier_mlp/gelu.h"
#include "pinned_rollout/pinned_rollout.h"
#include "pinned_rollout/pinned_rollout_cuda.h"

namespace tilt::kernels {
namespace {

// embedding [T, H] = time_out(gelu(time_in([sin, cos](f t + phase)))) + state_in bias; block k = step k,
// thread j = hidden unit j.
__global__ void time_embedding_kernel(FourierMlpShape shape, FourierMlpWeights w, const float* frequencies,
                                      float dt, float* embedding) {
  extern __shared__ float hidden[];
  const int k = blockIdx.x, j = threadIdx.x, f = shape.features, h = shape.hidden;
  const float t = static_cast<float>(k) * dt;
  float sum = w.time_in_bias[j];
  for (int i = 0; i < f; ++i) {
    float s, c;
    sincosf(t * frequencies[i] + w.phase[i], &s, &c);
    sum += w.time_in_weight[j * 2 * f + i] * s + w.time_in_weight[j * 2 * f + f + i] * c;
  }
  hidden[j] = gelu(sum);
  __syncthreads();
  float out = w.time_out_bias[j] + w.state_in_bias[j];
  for (int i = 0; i < h; ++i) out += w.time_out_weight[j * h + i] * hidden[i];
  embedding[k * h + j] = out;
}

template <int H>
__global__ void pinned_rollout_mlp_kernel(PinnedRolloutSpec spec, FourierMlpShape shape, FourierMlpWeights w,
                                          const float* embedding, MixtureView prior, bool has_prior,
                                          float* states, float* prior_drift_out, float* policy_out,
                                          PathTerms* terms) {
  // Shared weights: state_in [H, D], hidden l [H, H] + bias, out [O, H] + bias.
  extern __shared__ float shared[];
  const int d = spec.dim, layers = shape.layers, o = shape.outputs;
  float* state_in = shared;
  float* hidden_w = state_in + H * d;
  float* hidden_b = hidden_w + layers * H * H;
  float* out_w = hidden_b + layers * H;
  float* out_b = out_w + o * H;
  for (int i = threadIdx.x; i < H * d; i += blockDim.x) state_in[i] = w.state_in_weight[i];
  for (int l = 0; l < layers; ++l)
    for (int i = threadIdx.x; i < H * H; i += blockDim.x) hidden_w[l * H * H + i] = w.hidden_weight[l][i];
  for (int l = 0; l < layers; ++l)
    for (int i = threadIdx.x; i < H; i += blockDim.x) hidden_b[l * H + i] = w.hidden_bias[l][i];
  for (int i = threadIdx.x; i < o * H; i += blockDim.x) out_w[i] = w.out_weight[i];
  for (int i = threadIdx.x; i < o; i += blockDim.x) out_b[i] = w.out_bias[i];
  __syncthreads();

  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r >= spec.batch) return;
  const PinnedStepConstants constants = spec.constants();
  const int64_t block = spec.batch * d;
  float x[kMaxFusedDim], next[kMaxFusedDim], u[kMaxFusedDim], u_prior[kMaxFusedDim], noise[kMaxFusedDim];
  float a[H], b[H];
  for (int j = 0; j < d; ++j) {
    x[j] = 0;
    states[r * d + j] = 0;
  }
  PathTerms path;
  for (int i = 0; i < spec.steps; ++i) {
    const float t = static_cast<float>(i) * constants.dt;
    const float* e = embedding + static_cast<int64_t>(i) * H;
#pragma unroll 8
    for (int j = 0; j < H; ++j) {
      float sum = e[j];
      for (int q = 0; q < d; ++q) sum += state_in[j * d + q] * x[q];
      a[j] = gelu(sum);
    }
    for (int l = 0; l < layers; ++l) {
      const float* wl = hidden_w + l * H * H;
#pragma unroll 4
      for (int j = 0; j < H; ++j) {
        float sum = hidden_b[l * H + j];
#pragma unroll
        for (int q = 0; q < H; ++q) sum += wl[j * H + q] * a[q];
        b[j] = gelu(sum);
      }
#pragma unroll
      for (int j = 0; j < H; ++j) a[j] = b[j];
    }
    for (int j = 0; j < d; ++j) {
      float sum = out_b[j];
#pragma unroll
      for (int q = 0; q < H; ++q) sum += out_w[j * H + q] * a[q];
      u[j] = sum;
    }
    if (has_prior) mixture_follmer_drift(prior, x, t, u_prior);
    if (policy_out)
      for (int j = 0; j < d; ++j) policy_out[i * block + r * d + j] = u[j];
    if (has_prior && prior_drift_out)
      for (int j = 0; j < d; ++j) prior_drift_out[i * block + r * d + j] = u_prior[j];
    rollout_noise(spec, static_cast<uint32_t>(spec.row_begin + r), i, noise);
    pinned_forward_step(constants, i, x, u, has_prior ? u_prior : nullptr, noise, next,
                        terms ? &path : nullptr);
    for (int j = 0; j < d; ++j) {
      x[j] = next[j];
      states[(i + 1) * block + r * d + j] = next[j];
    }
  }
  if (terms) terms[r] = path;
}

template <int H>
int launch(const PinnedRolloutSpec& spec, const FourierMlpDevice& network, const MixtureView* prior,
           const PinnedRolloutOutputs& out, cudaStream_t stream) {
  const FourierMlpShape& s = network.shape;
  const size_t shared =
      sizeof(float) * (static_cast<size_t>(H) * spec.dim + s.layers * (H * H + H) + s.outputs * (H + 1));
  if (shared > 48 * 1024) {
    const cudaError_t status = cudaFuncSetAttribute(
        pinned_rollout_mlp_kernel<H>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared));
    if (status != cudaSuccess) return static_cast<int>(status);
  }
  constexpr int kThreads = 128;
  const auto blocks = static_cast<unsigned>((spec.batch + kThreads - 1) / kThreads);
  pinned_rollout_mlp_kernel<H><<<blocks, kThreads, shared, stream>>>(
      spec, s, network.weights, network.embedding, prior ? *prior : MixtureView{}, prior != nullptr,
      out.states, out.reference_drift, out.policy_drift, out.terms);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int fourier_mlp_time_embedding_cuda(const FourierMlpDevice& network, int steps, cudaStream_t stream) {
  const FourierMlpShape& s = network.shape;
  time_embedding_kernel<<<steps, s.hidden, s.hidden * sizeof(float), stream>>>(
      s, network.weights, network.frequencies, 1.0f / static_cast<float>(steps), network.embedding);
  return static_cast<int>(cudaGetLastError());
}

int pinned_rollout_mlp_cuda(const PinnedRolloutSpec& spec, const FourierMlpDevice& network,
                            const MixtureView* prior, const PinnedRolloutOutputs& out, cudaStream_t stream) {
  if (network.shape.outputs != spec.dim || network.shape.dim != spec.dim || spec.dim > kMaxFusedDim)
    return static_cast<int>(cudaErrorInvalidValue);
  if (const int status = fourier_mlp_time_embedding_cuda(network, spec.steps, stream)) return status;
  switch (network.shape.hidden) {
    case 32:
      return launch<32>(spec, network, prior, out, stream);
    case 64:
      return launch<64>(spec, network, prior, out, stream);
    case 128:
      return launch<128>(spec, network, prior, out, stream);
    default:
      return static_cast<int>(cudaErrorInvalidValue);
  }
}

}  // namespace tilt::kernels
