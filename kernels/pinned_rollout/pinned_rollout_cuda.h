// Device entry points of the network rollout (pinned_rollout_mlp.cu). Every pointer is a device
// pointer; calls are asynchronous on `stream` and return the launch's cudaError_t (0: success).
#pragma once

#include "fourier_mlp/fourier_mlp.h"
#include "pinned_rollout/pinned_rollout.h"

namespace tilt::kernels {

// The network on the device: its weights (LibTorch's layout), the fixed frequencies [F], and a
// buffer for the per-step time embedding [T, H] that the rollout fills.
struct FourierMlpDevice {
  FourierMlpShape shape;
  FourierMlpWeights weights;
  const float* frequencies = nullptr;
  float* embedding = nullptr;
};

// What a rollout writes: states [T + 1, B, D]; optionally the prior's drift and the policy's output
// [T, B, D] and the path terms [B].
struct PinnedRolloutOutputs {
  float* states = nullptr;
  float* reference_drift = nullptr;
  float* policy_drift = nullptr;
  PathTerms* terms = nullptr;
};

// embedding [T, H] for t_k = k / T (the state_in bias included).
int fourier_mlp_time_embedding_cuda(const FourierMlpDevice& network, int steps, cudaStream_t stream);

// The same paths as pinned_rollout_cpu(spec, network, prior, ...): hidden 32, 64 or 128, outputs = D.
int pinned_rollout_mlp_cuda(const PinnedRolloutSpec& spec, const FourierMlpDevice& network,
                            const MixtureView* prior, const PinnedRolloutOutputs& out, cudaStream_t stream);

}  // namespace tilt::kernels
