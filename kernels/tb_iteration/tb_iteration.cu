#include <algorithm>

#include "fourier_mlp/gelu.h"
#include "tb_iteration/tb_iteration_cuda.h"

namespace tilt::kernels {
namespace {

constexpr int kThreads = 256;
// Blocks of the backward pass (each loops over many tiles): enough to fill a large device, few
// enough that their partial sums ([blocks, P]) stay small.
constexpr int64_t kMaxBackwardBlocks = 512;

template <int H>
constexpr int tile_rows() {
  return H == 32 ? 32 : 16;
}

int64_t tiles_per_step(int64_t batch, int hidden) {
  const int rows = hidden == 32 ? tile_rows<32>() : tile_rows<64>();
  return (batch + rows - 1) / rows;
}

unsigned blocks_for(int64_t count) { return static_cast<unsigned>((count + kThreads - 1) / kThreads); }

// residual_i = log Z + log p_F - log p_B of trajectory i - log r(x_T,i); one thread per trajectory.
__global__ void residual_kernel(PinnedStepConstants c, int steps, int64_t batch, AnalyticTarget target,
                                const float* states, const float* outputs, const float* log_z,
                                float* residuals) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= batch) return;
  const int64_t block = batch * c.dim;
  PathTerms path;
  for (int k = 0; k < steps; ++k)
    pinned_step_terms(c, k, states + k * block + i * c.dim, states + (k + 1) * block + i * c.dim,
                      outputs + k * block + i * c.dim, nullptr, path);
  residuals[i] = *log_z + path.log_forward - path.log_backward -
                 analytic_log_reward(target, states + steps * block + i * c.dim);
}

// One block: the stats' sums (after the log Z gradient, residual_sum / B) in a fixed order.
__global__ void stats_kernel(int64_t batch, float inverse_global_batch, const float* residuals,
                             float* log_z_gradient_then_stats) {
  __shared__ double sums[2][1024];
  double sum = 0, square = 0;
  for (int64_t i = threadIdx.x; i < batch; i += blockDim.x) {
    sum += residuals[i];
    square += static_cast<double>(residuals[i]) * residuals[i];
  }
  sums[0][threadIdx.x] = sum;
  sums[1][threadIdx.x] = square;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sums[0][threadIdx.x] += sums[0][threadIdx.x + half];
      sums[1][threadIdx.x] += sums[1][threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    log_z_gradient_then_stats[0] = static_cast<float>(sums[0][0]) * inverse_global_batch;
    log_z_gradient_then_stats[1] = static_cast<float>(0.5 * sums[1][0]);
    log_z_gradient_then_stats[2] = static_cast<float>(sums[0][0]);
    log_z_gradient_then_stats[3] = static_cast<float>(sums[1][0]);
  }
}

// outputs[k, i, :] <- d loss / d u_{k,i}, in place.
__global__ void output_gradient_kernel(PinnedStepConstants c, int steps, int64_t batch,
                                       float inverse_global_batch, const float* states,
                                       const float* residuals, float* outputs) {
  const int64_t block = batch * c.dim;
  const int64_t at = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (at >= steps * block) return;
  const int64_t i = (at % block) / c.dim;
  outputs[at] = tb_output_gradient(residuals[i] * inverse_global_batch, states[at], states[at + block],
                                   outputs[at], c.dt, c.sigma2);
}

// The network's backward pass over tiles of R rows of one step (thread j = hidden unit j): the
// tile's forward pass again (activations and GELU derivatives in shared memory), then the output,
// hidden and state_in layers' gradients, summed over the block's tiles in shared memory. H x H
// matrices are stored with row stride H + 1, so that a warp reading a row (forward) and one
// reading a column (input gradients) both hit distinct banks. Each block writes its sums as one
// full row of `partials` (zeros where the time embedding's parameters are); each tile writes the
// gradient reaching its step's embedding to `embedding_partials[tile]`.
template <int H, int R>
__global__ void __launch_bounds__(H)
    network_backward_kernel(FourierMlpShape s, FourierMlpWeights w, const float* embedding,
                            const float* x_all, const float* grad_out_all, int steps, int64_t batch,
                            int64_t step_tiles, int64_t parameter_count, float* partials,
                            float* embedding_partials) {
  constexpr int S = H + 1;
  extern __shared__ float shared[];
  const int d = s.dim, o = s.outputs, layers = s.layers, j = threadIdx.x;
  float* wi = shared;
  float* wh = wi + H * d;
  float* bh = wh + layers * H * S;
  float* wo = bh + layers * H;
  float* acc_wi = wo + o * H;
  float* acc_wh = acc_wi + H * d;
  float* acc_bh = acc_wh + layers * H * S;
  float* acc_wo = acc_bh + layers * H;
  float* acc_bo = acc_wo + o * H;
  float* val = acc_bo + o;
  float* der = val + (layers + 1) * R * H;
  float* g = der + (layers + 1) * R * H;
  float* g2 = g + R * H;
  float* xs = g2 + R * H;
  float* gouts = xs + R * d;

  for (int i = j; i < H * d; i += H) {
    wi[i] = w.state_in_weight[i];
    acc_wi[i] = 0;
  }
  for (int l = 0; l < layers; ++l) {
    for (int i = j; i < H * H; i += H) {
      wh[l * H * S + (i / H) * S + i % H] = w.hidden_weight[l][i];
      acc_wh[l * H * S + (i / H) * S + i % H] = 0;
    }
    bh[l * H + j] = w.hidden_bias[l][j];
    acc_bh[l * H + j] = 0;
  }
  for (int i = j; i < o * H; i += H) {
    wo[i] = w.out_weight[i];
    acc_wo[i] = 0;
  }
  for (int i = j; i < o; i += H) acc_bo[i] = 0;
  __syncthreads();

  const int64_t tiles = steps * step_tiles;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t k = tile / step_tiles, first = (tile % step_tiles) * R;
    const int n = static_cast<int>(min(static_cast<int64_t>(R), batch - first));
    const int64_t row0 = k * batch + first;
    for (int i = j; i < n * d; i += H) xs[i] = x_all[row0 * d + i];
    for (int i = j; i < n * o; i += H) gouts[i] = grad_out_all[row0 * o + i];
    __syncthreads();

    const float e = embedding[k * H + j];
    for (int r = 0; r < n; ++r) {
      float pre = e;
      for (int q = 0; q < d; ++q) pre += wi[j * d + q] * xs[r * d + q];
      val[r * H + j] = gelu(pre);
      der[r * H + j] = gelu_derivative(pre);
    }
    __syncthreads();
    for (int l = 0; l < layers; ++l) {
      const float* in = val + l * R * H;
      const float* row = wh + l * H * S + j * S;
      for (int r = 0; r < n; ++r) {
        float pre = bh[l * H + j];
#pragma unroll 16
        for (int i = 0; i < H; ++i) pre += row[i] * in[r * H + i];
        val[(l + 1) * R * H + r * H + j] = gelu(pre);
        der[(l + 1) * R * H + r * H + j] = gelu_derivative(pre);
      }
      __syncthreads();
    }

    const float* last = val + layers * R * H;
    for (int q = 0; q < o; ++q) {
      float sum = 0;
      for (int r = 0; r < n; ++r) sum += gouts[r * o + q] * last[r * H + j];
      acc_wo[q * H + j] += sum;
    }
    if (j < o) {
      float sum = 0;
      for (int r = 0; r < n; ++r) sum += gouts[r * o + j];
      acc_bo[j] += sum;
    }
    for (int r = 0; r < n; ++r) {
      float sum = 0;
      for (int q = 0; q < o; ++q) sum += gouts[r * o + q] * wo[q * H + j];
      g[r * H + j] = sum * der[layers * R * H + r * H + j];
    }
    __syncthreads();
    float* grad = g;
    float* spare = g2;
    for (int l = layers; l >= 1; --l) {
      const float* in = val + (l - 1) * R * H;
      float bias_sum = 0;
      for (int r = 0; r < n; ++r) bias_sum += grad[r * H + j];
      acc_bh[(l - 1) * H + j] += bias_sum;
      float* acc_row = acc_wh + (l - 1) * H * S + j * S;
      for (int i = 0; i < H; ++i) {
        float sum = 0;
        for (int r = 0; r < n; ++r) sum += grad[r * H + j] * in[r * H + i];
        acc_row[i] += sum;
      }
      const float* column = wh + (l - 1) * H * S + j;
      for (int r = 0; r < n; ++r) {
        float sum = 0;
#pragma unroll 16
        for (int q = 0; q < H; ++q) sum += column[q * S] * grad[r * H + q];
        spare[r * H + j] = sum * der[(l - 1) * R * H + r * H + j];
      }
      __syncthreads();
      float* swap = grad;
      grad = spare;
      spare = swap;
    }
    float embedding_sum = 0;
    for (int r = 0; r < n; ++r) embedding_sum += grad[r * H + j];
    embedding_partials[tile * H + j] = embedding_sum;
    for (int q = 0; q < d; ++q) {
      float sum = 0;
      for (int r = 0; r < n; ++r) sum += grad[r * H + j] * xs[r * d + q];
      acc_wi[j * d + q] += sum;
    }
    __syncthreads();
  }

  float* out = partials + blockIdx.x * parameter_count;
  for (int64_t p = j; p < parameter_count; p += H) out[p] = 0;
  __syncthreads();
  const FourierMlpGradients v = fourier_mlp_flat_view(out, s);
  for (int i = j; i < H * d; i += H) v.state_in_weight[i] = acc_wi[i];
  for (int l = 0; l < layers; ++l) {
    for (int i = j; i < H * H; i += H) v.hidden_weight[l][i] = acc_wh[l * H * S + (i / H) * S + i % H];
    v.hidden_bias[l][j] = acc_bh[l * H + j];
  }
  for (int i = j; i < o * H; i += H) v.out_weight[i] = acc_wo[i];
  for (int i = j; i < o; i += H) v.out_bias[i] = acc_bo[i];
}

// gradients[p] = sum over blocks of partials[b, p], blocks in order.
__global__ void reduce_partials_kernel(int64_t blocks, int64_t parameter_count, const float* partials,
                                       float* gradients) {
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (p >= parameter_count) return;
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) sum += partials[b * parameter_count + p];
  gradients[p] = sum;
}

// embedding_gradients[k, j] = sum over step k's tiles; block k, thread j.
__global__ void embedding_reduce_kernel(int64_t step_tiles, const float* embedding_partials,
                                        float* embedding_gradients) {
  const int64_t k = blockIdx.x, h = blockDim.x, j = threadIdx.x;
  float sum = 0;
  for (int64_t c = 0; c < step_tiles; ++c) sum += embedding_partials[(k * step_tiles + c) * h + j];
  embedding_gradients[k * h + j] = sum;
}

// The time embedding's backward pass (one block, thread j = hidden unit j), step after step; adds
// into the time embedding's and the state_in bias's gradients (the tiles wrote zeros there).
__global__ void time_embedding_backward_kernel(FourierMlpShape s, FourierMlpWeights w,
                                               const float* frequencies, float dt, int steps,
                                               const float* embedding_gradients, FourierMlpGradients g) {
  extern __shared__ float shared[];
  const int f = s.features, f2 = 2 * f, h = s.hidden, j = threadIdx.x;
  float* features = shared;
  float* hidden = features + f2;
  float* hidden_gradient = hidden + h;
  for (int k = 0; k < steps; ++k) {
    const float t = static_cast<float>(k) * dt;
    for (int i = j; i < f; i += h) sincosf(t * frequencies[i] + w.phase[i], &features[i], &features[f + i]);
    __syncthreads();
    float z = w.time_in_bias[j];
    for (int i = 0; i < f2; ++i) z += w.time_in_weight[j * f2 + i] * features[i];
    hidden[j] = gelu(z);
    __syncthreads();
    const float* ge = embedding_gradients + static_cast<int64_t>(k) * h;
    g.state_in_bias[j] += ge[j];
    g.time_out_bias[j] += ge[j];
    for (int i = 0; i < h; ++i) g.time_out_weight[j * h + i] += ge[j] * hidden[i];
    float gh = 0;
    for (int q = 0; q < h; ++q) gh += w.time_out_weight[q * h + j] * ge[q];
    const float gz = gh * gelu_derivative(z);
    g.time_in_bias[j] += gz;
    for (int i = 0; i < f2; ++i) g.time_in_weight[j * f2 + i] += gz * features[i];
    hidden_gradient[j] = gz;
    __syncthreads();
    for (int i = j; i < f; i += h) {
      float gs = 0, gc = 0;
      for (int q = 0; q < h; ++q) {
        gs += w.time_in_weight[q * f2 + i] * hidden_gradient[q];
        gc += w.time_in_weight[q * f2 + f + i] * hidden_gradient[q];
      }
      g.phase[i] += gs * features[f + i] - gc * features[i];
    }
    __syncthreads();
  }
}

__global__ void adam_kernel(int64_t count, AdamStep network, AdamStep log_z, const float* gradients,
                            float* parameters, float* first_moment, float* second_moment) {
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (p >= count) return;
  adam_update(p + 1 < count ? network : log_z, gradients[p], parameters[p], first_moment[p],
              second_moment[p]);
}

template <int H>
int backward(const TbIterationSpec& spec, const TbIterationDevice& device, int64_t parameter_count,
             cudaStream_t stream) {
  constexpr int R = tile_rows<H>();
  const FourierMlpShape& s = device.shape;
  const int64_t step_tiles = tiles_per_step(spec.rollout.batch, H);
  const int64_t blocks = std::min(kMaxBackwardBlocks, spec.rollout.steps * step_tiles);
  const size_t shared =
      sizeof(float) * (2 * (static_cast<size_t>(H) * s.dim + s.layers * (H * (H + 1) + H) + s.outputs * H) +
                       s.outputs + 2 * (s.layers + 1) * R * H + 2 * R * H + R * (s.dim + s.outputs));
  const cudaError_t attribute = cudaFuncSetAttribute(
      network_backward_kernel<H, R>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared));
  if (attribute != cudaSuccess) return static_cast<int>(attribute);
  network_backward_kernel<H, R><<<static_cast<unsigned>(blocks), H, shared, stream>>>(
      s, fourier_mlp_flat_view(static_cast<const float*>(device.parameters), s), device.embedding,
      device.states, device.outputs, spec.rollout.steps, spec.rollout.batch, step_tiles, parameter_count,
      device.partials, device.embedding_partials);
  reduce_partials_kernel<<<blocks_for(parameter_count), kThreads, 0, stream>>>(
      blocks, parameter_count, device.partials, device.gradients);
  embedding_reduce_kernel<<<spec.rollout.steps, H, 0, stream>>>(step_tiles, device.embedding_partials,
                                                                device.embedding_gradients);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

TbIterationSizes tb_iteration_cuda_sizes(const TbIterationSpec& spec, const FourierMlpShape& shape) {
  const int64_t p = fourier_mlp_parameter_count(shape), steps = spec.rollout.steps,
                block = spec.rollout.batch * spec.rollout.dim, h = shape.hidden;
  const int64_t tiles = steps * tiles_per_step(spec.rollout.batch, shape.hidden);
  return {p + 1,
          p + 1 + kTbStatsCount,
          steps * h,
          (steps + 1) * block,
          steps * block,
          spec.rollout.batch,
          std::min(kMaxBackwardBlocks, tiles) * p,
          tiles * h,
          steps * h};
}

int tb_iteration_gradients_cuda(const TbIterationSpec& spec, const TbIterationDevice& device,
                                cudaStream_t stream) {
  const FourierMlpShape& s = device.shape;
  if ((s.hidden != 32 && s.hidden != 64) || s.dim != spec.rollout.dim || s.outputs != spec.rollout.dim)
    return static_cast<int>(cudaErrorInvalidValue);
  const int64_t p = fourier_mlp_parameter_count(s), batch = spec.rollout.batch;
  const FourierMlpWeights weights = fourier_mlp_flat_view(static_cast<const float*>(device.parameters), s);
  const FourierMlpDevice network{s, weights, device.frequencies, device.embedding};
  if (const int status = pinned_rollout_mlp_cuda(spec.rollout, network, nullptr,
                                                 {device.states, nullptr, device.outputs, nullptr}, stream))
    return status;
  const PinnedStepConstants c = spec.rollout.constants();
  const float inverse_global_batch = 1.0f / static_cast<float>(spec.global_batch);
  residual_kernel<<<blocks_for(batch), kThreads, 0, stream>>>(c, spec.rollout.steps, batch, device.target,
                                                              device.states, device.outputs,
                                                              device.parameters + p, device.residuals);
  stats_kernel<<<1, 1024, 0, stream>>>(batch, inverse_global_batch, device.residuals, device.gradients + p);
  output_gradient_kernel<<<blocks_for(spec.rollout.steps * batch * s.dim), kThreads, 0, stream>>>(
      c, spec.rollout.steps, batch, inverse_global_batch, device.states, device.residuals, device.outputs);
  const int status =
      s.hidden == 32 ? backward<32>(spec, device, p, stream) : backward<64>(spec, device, p, stream);
  if (status) return status;
  time_embedding_backward_kernel<<<1, s.hidden, sizeof(float) * (2 * s.features + 2 * s.hidden), stream>>>(
      s, weights, device.frequencies, c.dt, spec.rollout.steps, device.embedding_gradients,
      fourier_mlp_flat_view(device.gradients, s));
  return static_cast<int>(cudaGetLastError());
}

int tb_iteration_adam_cuda(const TbIterationSpec& spec, const TbIterationDevice& device, int64_t step,
                           cudaStream_t stream) {
  const int64_t count = fourier_mlp_parameter_count(device.shape) + 1;
  adam_kernel<<<blocks_for(count), kThreads, 0, stream>>>(
      count, adam_step(spec, spec.network_lr, step), adam_step(spec, spec.log_z_lr, step), device.gradients,
      device.parameters, device.first_moment, device.second_moment);
  return static_cast<int>(cudaGetLastError());
}

float* TbIterationCuda::allocate(int64_t count) {
  void* pointer = nullptr;
  const cudaError_t error =
      cudaMalloc(&pointer, static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(float));
  if (error != cudaSuccess) {
    if (!status_) status_ = static_cast<int>(error);
    return nullptr;
  }
  owned_.push_back(pointer);
  return static_cast<float*>(pointer);
}

TbIterationCuda::TbIterationCuda(const TbIterationSpec& spec, const FourierMlpShape& shape,
                                 const float* frequencies, const AnalyticTarget& target,
                                 const float* network_parameters, float log_z)
    : spec_(spec), sizes_(tb_iteration_cuda_sizes(spec, shape)) {
  const auto upload = [&](const float* host, int64_t count) {
    float* device = allocate(count);
    if (device && cudaMemcpy(device, host, count * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess &&
        !status_)
      status_ = static_cast<int>(cudaErrorInvalidValue);
    return device;
  };
  const int64_t p = sizes_.parameters - 1;
  std::vector<float> parameters(network_parameters, network_parameters + p);
  parameters.push_back(log_z);
  const std::vector<float> zeros(sizes_.parameters, 0.0f);
  device_.shape = shape;
  device_.frequencies = upload(frequencies, shape.features);
  device_.target = target;
  if (target.kind == AnalyticTarget::Kind::kMixture) {
    const MixtureView& m = target.mixture;
    device_.target.mixture.means = upload(m.means, static_cast<int64_t>(m.components) * m.dim);
    device_.target.mixture.log_weights = upload(m.log_weights, m.components);
    device_.target.mixture.variances = upload(m.variances, m.components);
  }
  device_.parameters = upload(parameters.data(), sizes_.parameters);
  device_.first_moment = upload(zeros.data(), sizes_.parameters);
  device_.second_moment = upload(zeros.data(), sizes_.parameters);
  device_.gradients = allocate(sizes_.gradients);
  device_.embedding = allocate(sizes_.embedding);
  device_.states = allocate(sizes_.states);
  device_.outputs = allocate(sizes_.outputs);
  device_.residuals = allocate(sizes_.residuals);
  device_.partials = allocate(sizes_.partials);
  device_.embedding_partials = allocate(sizes_.embedding_partials);
  device_.embedding_gradients = allocate(sizes_.embedding_gradients);
}

TbIterationCuda::~TbIterationCuda() {
  for (void* pointer : owned_) cudaFree(pointer);
}

int TbIterationCuda::gradients(uint32_t iteration, double exploration_std, cudaStream_t stream) {
  if (status_) return status_;
  TbIterationSpec spec = spec_;
  spec.rollout.iteration = iteration;
  spec.rollout.exploration_std = exploration_std;
  return tb_iteration_gradients_cuda(spec, device_, stream);
}

int TbIterationCuda::step(uint32_t iteration, double exploration_std, cudaStream_t stream) {
  if (const int status = gradients(iteration, exploration_std, stream)) return status;
  return adam(stream);
}

int TbIterationCuda::adam(cudaStream_t stream) {
  if (status_) return status_;
  return tb_iteration_adam_cuda(spec_, device_, ++adam_steps_, stream);
}

std::vector<float> TbIterationCuda::download(const float* source, int64_t count) const {
  std::vector<float> out(count);
  if (cudaMemcpy(out.data(), source, count * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess)
    out.clear();
  return out;
}

TbIterationStats TbIterationCuda::stats() const {
  const std::vector<float> tail = download(device_.gradients + sizes_.parameters, kTbStatsCount);
  if (tail.size() != kTbStatsCount) return {};
  return {tail[0], tail[1], tail[2]};
}

}  // namespace tilt::kernels
