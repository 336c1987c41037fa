#!/usr/bin/env bash
# Every config key, given a value out of its range, of the wrong type or not finite: `tilt train`
# must exit non-zero with one line that names the key, and leave no run directory behind.
set -euo pipefail
tilt=$1
source_dir=$2
source "$source_dir/tests/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rtb="$source_dir/configs/rtb/gmm25_gaussian.yaml"
tb="$source_dir/configs/samplers/gmm25_tb.yaml"
explicit_prior='prior.mixture={means: [[0, 0], [1, 1]], variance: 1}'
checked=0

# expect_refused CONFIG KEY OVERRIDE...: the run must be refused with a one-line message naming KEY.
expect_refused() {
  local config=$1 key=$2
  shift 2
  local args=() assignment
  for assignment in "$@"; do args+=(--set "$assignment"); done
  local message status=0
  message=$("$tilt" train "$config" --out "$work/run" --quiet "${args[@]}" 2>&1) || status=$?
  ((status != 0)) || fail "accepted: $*"
  [[ $message == *"'$key'"* ]] || fail "message for '$*' does not name '$key': $message"
  [[ $(wc -l <<<"$message") -eq 1 ]] || fail "message for '$*' is not one line: $message"
  [[ ! -e "$work/run" ]] || fail "'$*' left a run directory"
  checked=$((checked + 1))
}

expect_refused "$rtb" objective "objective=sgd"
expect_refused "$rtb" seed "seed=-1"
expect_refused "$rtb" seed "seed=abc"
expect_refused "$rtb" seed "seed=1.5"
for key in process.steps network.hidden network.fourier_features train.iterations train.batch \
  train.checkpoint_every train.log_every eval.samples; do
  expect_refused "$rtb" "$key" "$key=0"
  expect_refused "$rtb" "$key" "$key=abc"
  expect_refused "$rtb" "$key" "$key=2.5"
  expect_refused "$rtb" "$key" "$key=[1]"
done
expect_refused "$rtb" train.iterations "train.iterations=-5"
expect_refused "$rtb" train.iterations "train.iterations=10000000000"
expect_refused "$rtb" network.layers "network.layers=-1"
expect_refused "$rtb" network.layers "network.layers=abc"
expect_refused "$rtb" network.engine "network.engine=gpu"
for key in process.sigma2 reward.noise_variance train.lr objective.log_z_lr reward.beta; do
  expect_refused "$rtb" "$key" "$key=0"
  expect_refused "$rtb" "$key" "$key=-1"
  expect_refused "$rtb" "$key" "$key=.inf"
  expect_refused "$rtb" "$key" "$key=.nan"
  expect_refused "$rtb" "$key" "$key=abc"
done
expect_refused "$rtb" objective.log_reward_floor "objective.log_reward_floor=.inf"
expect_refused "$rtb" objective.log_reward_floor "objective.log_reward_floor=-.inf"
expect_refused "$rtb" objective.log_reward_floor "objective.log_reward_floor=abc"
expect_refused "$rtb" objective.kind "objective.kind=dpo"
expect_refused "$rtb" objective.lambda "objective.lambda=0.5"
expect_refused "$rtb" train.log_z_lr "train.log_z_lr=0.1"
expect_refused "$rtb" train.exploration.std "train.exploration.std=-0.1"
expect_refused "$rtb" train.exploration.std "train.exploration.std=.inf"
expect_refused "$rtb" train.exploration.std "train.exploration.std=abc"
expect_refused "$rtb" train.exploration.hold "train.exploration.hold=-1"
expect_refused "$rtb" train.exploration.decay_until "train.exploration.decay_until=100"
expect_refused "$rtb" train.exploration.decay_until "train.exploration.decay_until=abc"
expect_refused "$rtb" train.score_chunk_steps "train.score_chunk_steps=-1"
expect_refused "$rtb" train.score_chunk_steps "train.score_chunk_steps=101"
expect_refused "$rtb" train.nope "train.nope=1"
expect_refused "$rtb" prior.kind "prior.kind=magic"
expect_refused "$rtb" prior.mixture.preset "prior.mixture.preset=gmm7"
expect_refused "$rtb" prior.mixture.means "$explicit_prior" "prior.mixture.means=[[0, .inf], [1, 1]]"
expect_refused "$rtb" prior.mixture.means "$explicit_prior" "prior.mixture.means=[[0, 0], [1]]"
expect_refused "$rtb" prior.mixture.means "$explicit_prior" "prior.mixture.means=abc"
expect_refused "$rtb" prior.mixture.weights "$explicit_prior" "prior.mixture.weights=[1, -1]"
expect_refused "$rtb" prior.mixture.weights "$explicit_prior" "prior.mixture.weights=[1, .inf]"
expect_refused "$rtb" prior.mixture.weights "$explicit_prior" "prior.mixture.weights=[1]"
expect_refused "$rtb" prior.mixture.variance "$explicit_prior" "prior.mixture.variance=0"
expect_refused "$rtb" prior.mixture.variance "$explicit_prior" "prior.mixture.variance=[1, .nan]"
expect_refused "$rtb" prior.run_dir "prior.kind=neural" "prior.mixture=null" "network=null" "prior.run_dir=$work/none"
expect_refused "$rtb" reward.kind "reward.kind=magic"
expect_refused "$rtb" reward.y "reward.y=[.inf, 2]"
expect_refused "$rtb" reward.y "reward.y=[]"
expect_refused "$rtb" reward.y "reward.y=abc"
expect_refused "$rtb" reward.A "reward.A=[[1, .nan], [0, 1]]"
expect_refused "$rtb" reward.A "reward.A=[[1, 0]]"
expect_refused "$rtb" reward.A "reward.A=[[1, 0, 0], [0, 1, 0]]"
expect_refused "$rtb" reward.numerator "reward.kind=mixture_ratio" "reward.y=null" "reward.A=null" \
  "reward.noise_variance=null" "reward.numerator={means: [[0, 0, 0]], variance: 1}"
expect_refused "$rtb" eval.plot_box "eval.plot_box=[1, 0, 0, 1]"
expect_refused "$rtb" eval.plot_box "eval.plot_box=[0, 1, 0]"
expect_refused "$rtb" eval.plot_box "eval.plot_box=[0, .inf, 0, 1]"
expect_refused "$tb" target.variance "target.preset=null" "target.means=[[0, 0]]" "target.variance=-1"
expect_refused "$tb" target.means "target.preset=null" "target.means=[[0, .inf]]" "target.variance=1"
expect_refused "$tb" target.kind "target.kind=cube"
expect_refused "$tb" target.dim "target={kind: manywell, dim: 7}"
expect_refused "$tb" target.variance "target={kind: funnel, variance: 0}"
expect_refused "$tb" target.file "target={kind: torchscript, file: $work/none.pt, dim: 2}"
expect_refused "$rtb" reward.file "reward={kind: torchscript, file: $work/none.pt}"
echo "not torchscript" > "$work/broken.pt"
expect_refused "$rtb" reward.file "reward={kind: torchscript, file: $work/broken.pt}"
expect_refused "$source_dir/configs/priors/gmm25_mle.yaml" target.kind \
  "target={kind: torchscript, file: $source_dir/configs/rewards/gaussian_likelihood.pt, dim: 2}"
expect_refused "$tb" source.kind "source.kind=data"
expect_refused "$tb" source.priority "source={kind: replay, priority: best}"
expect_refused "$tb" source.backward_every "source={kind: replay, backward_every: 1}"
expect_refused "$tb" source.local_search.burn_in "source={kind: replay, local_search: {steps: 10, burn_in: 10}}"
expect_refused "$tb" source.local_search.target_acceptance "source={kind: replay, local_search: {target_acceptance: 1.5}}"
expect_refused "$tb" objective.lambda "objective={kind: subtb, lambda: -1}"
expect_refused "$tb" source.kind "objective=pis" "source.kind=on_policy"
expect_refused "$tb" objective.flow_lr "objective={kind: subtb, flow_lr: .nan}"
expect_refused "$tb" network.langevin.gradient_clip "network.langevin={gradient_clip: 0}"
expect_refused "$tb" network.log_variance_range "network.log_variance_range=0"
expect_refused "$tb" network.log_variance_range "network.log_variance_range=100"
expect_refused "$rtb" network.guidance "network.guidance=1" "network.log_variance_range=4"
expect_refused "$tb" network.learned_backward.scale_range "network.learned_backward={scale_range: 1}"
expect_refused "$rtb" network.learned_backward "network.learned_backward={}"
expect_refused "$tb" train.lr_decay.final_fraction "train.lr_decay={final_fraction: 1.5}"
expect_refused "$tb" objective.loss_cutoff "objective={kind: tb, loss_cutoff: -0.1}"
expect_refused "$tb" target "objective=relative_vargrad"
expect_refused "$tb" prior "prior={kind: exact}"
expect_refused "$tb" train.beta "train.beta=2"
expect_refused "$tb" reward "reward.beta=2"
# DxMI configs (method: dxmi) are read by their own parser, held to the same rules (every key's
# range is checked in tests/dxmi/test_dxmi.cpp; here one case of each kind, as a user meets it).
dxmi="$source_dir/configs/dxmi/8gaussians_t4.yaml"
expect_refused "$dxmi" sampler.steps "sampler.steps=0"
expect_refused "$dxmi" sampler.steps "sampler.steps=2.5"
expect_refused "$dxmi" sampler.spacing "sampler.spacing=cosine"
expect_refused "$dxmi" data.name "data.name=moons"
expect_refused "$dxmi" train.iterations "train.iterations=-1"  # 0 is allowed: the prior alone
expect_refused "$dxmi" eval.samples "eval.samples=1"
expect_refused "$dxmi" dxmi.tau_entropy "dxmi.tau_entropy=.nan"
expect_refused "$dxmi" dxmi.energy_lr "dxmi.energy_lr=0"
expect_refused "$dxmi" dxmi.avr_decay "dxmi.avr_decay=1.5"
expect_refused "$dxmi" dxmi.skip_sampler_tau "dxmi.skip_sampler_tau=5"     # T = 4
expect_refused "$dxmi" network.critic_frequency_scale "network.critic_frequency_scale=0"
# Value guidance needs the trained value: refused in a prior-only run.
expect_refused "$dxmi" eval.guidance_scale "train.iterations=0" "eval.guidance_scale=0.5"
expect_refused "$dxmi" dxmi.guidance_scale "train.iterations=0" "dxmi.guidance_scale=0.5"
# The critics' keys belong to DxMI: a multivariate diffusion trains no critic.
expect_refused "$source_dir/configs/mdm/8gaussians_cld.yaml" network.critic_fourier_features \
  "network.critic_fourier_features=8"
expect_refused "$dxmi" dxmi.shared_value "dxmi.shared_value=maybe"
expect_refused "$dxmi" dxmi.momentum "dxmi.momentum=0.9"
expect_refused "$dxmi" method "method=gcd"
expect_refused "$dxmi" network.architecture "network.architecture=unet"  # 2-D data: mlp
expect_refused "$dxmi" prior.iterations "prior.from=runs/elsewhere"      # a loaded prior trains no more
images="$source_dir/configs/dxmi/fashion_mnist_t10.yaml"
expect_refused "$images" data.path "data.path=/nowhere"
expect_refused "$images" data.class "data.class=10"
expect_refused "$images" network.channels "network.channels=1"
expect_refused "$images" eval.reference_steps "eval.reference_steps=0"
echo "bad configs: all $checked refused with one line naming the key, no run directory left"
