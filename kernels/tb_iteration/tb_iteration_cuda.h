// The TB iteration (tb_iteration.h) on one CUDA device, no LibTorch: the network rollout
// (pinned_rollout_mlp.cu), then the residuals and the output gradients, the network's backward pass
// (tiles of rows per block, activations and the block's weight-gradient sums in shared memory,
// one partial sum per block reduced in a fixed order: the result does not depend on scheduling),
// the time embedding's backward pass, and Adam, all on `stream`. Hidden width 32 or 64.
#pragma once

#include <cstdint>
#include <vector>

#include "pinned_rollout/pinned_rollout_cuda.h"
#include "tb_iteration/tb_iteration.h"

namespace tilt::kernels {

// Device buffers of one engine; all pointers are device pointers owned by the caller (sizes from
// tb_iteration_cuda_sizes).
struct TbIterationDevice {
  FourierMlpShape shape;
  const float* frequencies = nullptr;    // [F]
  AnalyticTarget target;                 // a mixture's arrays on the device
  float* parameters = nullptr;           // [P + 1]: network (flat view), then log Z
  float* gradients = nullptr;            // [P + 1 + kTbStatsCount]: then the stats' sums
  float* first_moment = nullptr;         // [P + 1]
  float* second_moment = nullptr;        // [P + 1]
  float* embedding = nullptr;            // [T, H]
  float* states = nullptr;               // [T + 1, B, D]
  float* outputs = nullptr;              // [T, B, D]: network outputs, then overwritten by their gradients
  float* residuals = nullptr;            // [B]
  float* partials = nullptr;             // [blocks, P]
  float* embedding_partials = nullptr;   // [tiles, H]
  float* embedding_gradients = nullptr;  // [T, H]
};

struct TbIterationSizes {
  int64_t parameters, gradients, embedding, states, outputs, residuals, partials, embedding_partials,
      embedding_gradients;  // in floats
};
TbIterationSizes tb_iteration_cuda_sizes(const TbIterationSpec& spec, const FourierMlpShape& shape);

// Everything up to Adam: gradients (this device's rows) and their stats. With several ranks, sum
// `gradients` over them (P + 1 + kTbStatsCount floats) before tb_iteration_adam_cuda.
int tb_iteration_gradients_cuda(const TbIterationSpec& spec, const TbIterationDevice& device,
                                cudaStream_t stream);

// Adam step `step` (1, 2, ...) on the parameters from the (summed) gradients.
int tb_iteration_adam_cuda(const TbIterationSpec& spec, const TbIterationDevice& device, int64_t step,
                           cudaStream_t stream);

// One engine's device buffers (allocated by the constructor, freed by the destructor) and its
// iterations; the bench's and the tests' way to run it. status() is the first CUDA error (0: none).
class TbIterationCuda {
 public:
  // Host arrays: the network's flat parameters, the frequencies and the target's arrays are copied.
  TbIterationCuda(const TbIterationSpec& spec, const FourierMlpShape& shape, const float* frequencies,
                  const AnalyticTarget& target, const float* network_parameters, float log_z);
  ~TbIterationCuda();
  TbIterationCuda(const TbIterationCuda&) = delete;
  TbIterationCuda& operator=(const TbIterationCuda&) = delete;

  // Gradients of rollout `iteration` (exploration `exploration_std`), then Adam; asynchronous.
  int step(uint32_t iteration, double exploration_std, cudaStream_t stream = nullptr);
  // The two halves of step(): the gradients (with several ranks, sum device().gradients over them
  // in between), then the next Adam step.
  int gradients(uint32_t iteration, double exploration_std, cudaStream_t stream = nullptr);
  int adam(cudaStream_t stream = nullptr);

  int status() const { return status_; }
  const TbIterationDevice& device() const { return device_; }
  // Copies of device buffers (synchronous): `count` floats from `source`.
  std::vector<float> download(const float* source, int64_t count) const;
  TbIterationStats stats() const;  // of the last gradients() / step()

 private:
  float* allocate(int64_t count);

  TbIterationSpec spec_;
  TbIterationSizes sizes_{};
  TbIterationDevice device_;
  std::vector<void*> owned_;
  int64_t adam_steps_ = 0;
  int status_ = 0;
};

}  // namespace tilt::kernels
