#!/usr/bin/env bash
# The CLI as a user drives it: help, bad input, train/sample/eval on 2 MPI ranks, resume, and every
# shipped config run for a few iterations at a small size.
set -euo pipefail
tilt=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpirun=(mpirun --allow-run-as-root --oversubscribe -np 2)
small=(--set train.iterations=4 --set train.batch=16 --set eval.samples=64 --set process.steps=10
       --set train.checkpoint_every=2 --set train.log_every=1 --quiet)
fail() { echo "FAIL: $*" >&2; exit 1; }

"$tilt" --help | grep -q "train" || fail "tilt --help lists no train command"
"$tilt" train --help | grep -q -- "--resume" || fail "train --help does not document --resume"
"$tilt" sample --help | grep -q -- "--n" || fail "sample --help does not document --n"

# Bad configs: one clear line, non-zero exit, no run directory left behind.
config="$source_dir/configs/rtb/gmm25_gaussian.yaml"
for bad in "train.lr=abc:train.lr" "train.nope=1:train.nope" "reward.noise_variance=-1:reward.noise_variance"; do
  set +e
  message=$("$tilt" train "$config" --set "${bad%%:*}" --out "$work/bad" 2>&1)
  status=$?
  set -e
  [[ $status -ne 0 ]] || fail "bad config ${bad%%:*} exited 0"
  grep -q "${bad##*:}" <<<"$message" || fail "message for ${bad%%:*} does not name the key: $message"
  [[ $(wc -l <<<"$message") -eq 1 ]] || fail "message for ${bad%%:*} is not one line: $message"
  [[ ! -e "$work/bad" ]] || fail "bad config left a run directory"
done
if "$tilt" train "$work/missing.yaml" 2>/dev/null; then fail "missing config file accepted"; fi

# Train, sample and evaluate on 2 ranks.
"${mpirun[@]}" "$tilt" train "$config" --out "$work/run" "${small[@]}"
for file in config.yaml provenance.yaml checkpoint.h5 metrics.csv metrics.h5 samples.h5 eval.json; do
  [[ -s "$work/run/$file" ]] || fail "run directory lacks $file"
done
[[ $(wc -l <"$work/run/metrics.csv") -eq 5 ]] || fail "metrics.csv should have a header and 4 rows"
"${mpirun[@]}" "$tilt" sample "$work/run" --n 50 --out "$work/samples.h5" | grep -q "wrote 50 samples"
"${mpirun[@]}" "$tilt" eval "$work/run" --samples 64 >"$work/eval.json"
grep -q '"log_z_error"' "$work/eval.json" || fail "eval JSON lacks log_z_error: $(cat "$work/eval.json")"
grep -q '"mode_tv"' "$work/eval.json" || fail "eval JSON lacks mode_tv"

# A finished run is not overwritten; --resume continues it to more iterations ...
if "$tilt" train "$config" --out "$work/run" "${small[@]}" 2>/dev/null; then fail "existing run overwritten"; fi
# ... on another rank count (1 here): allowed, and recorded as a second session.
"$tilt" train --resume "$work/run" --set train.iterations=6 --quiet
[[ $(wc -l <"$work/run/metrics.csv") -eq 7 ]] || fail "resumed metrics.csv should have 6 rows"
/usr/bin/python3 - "$work/run/provenance.yaml" <<'PY' || fail "provenance does not record both sessions"
import sys, yaml
sessions = yaml.safe_load(open(sys.argv[1]))["sessions"]
assert [(int(s["ranks"]), int(s["start_step"])) for s in sessions] == [(2, 0), (1, 4)], sessions
PY

# Every shipped config runs (priors first: the neural-prior configs use the one trained here).
mapfile -t configs < <(cd "$source_dir" && ls configs/priors/*.yaml; ls configs/*/*.yaml | grep -v '^configs/priors/\|^configs/sweeps/')
for relative in "${configs[@]}"; do
  name=$(echo "$relative" | tr '/' '_')
  extra=()
  grep -q "kind: neural" "$source_dir/$relative" && extra=(--set "prior.run_dir=$work/configs_priors_gmm25_mle.yaml")
  sizes=("${small[@]}")
  # DxMI configs have no process section: their sampler's steps stay, the prior gets a few iterations.
  grep -q "^method: dxmi" "$source_dir/$relative" &&
    sizes=(--set train.iterations=3 --set train.batch=16 --set eval.samples=64 --set prior.iterations=3
           --set prior.batch=16 --set train.checkpoint_every=2 --set train.log_every=1 --quiet)
  # Multivariate diffusions: a few iterations, a small evaluation and a short reverse SDE.
  grep -q "^method: mdm" "$source_dir/$relative" &&
    sizes=(--set train.iterations=3 --set train.batch=16 --set eval.examples=64 --set eval.samples=64
           --set eval.sampler_steps=10 --set train.checkpoint_every=2 --set train.log_every=1 --quiet)
  # Tensor-network Monte Carlo: a few sweeps, MPS steps and chain steps.
  grep -q "^method: tn" "$source_dir/$relative" &&
    sizes=(--set mps.iterations=3 --set mps.batch=16 --set mps.training_chains=32 --set mps.burn_in_sweeps=5
           --set chains.count=4 --set chains.burn_in=2 --set chains.steps=10 --set mps.checkpoint_every=2
           --set mps.log_every=1 --quiet)
  # Guidance with exact scores: a few samples on a coarse time grid.
  grep -q "^method: guidance" "$source_dir/$relative" &&
    sizes=(--set sampling.samples=512 --set sampling.steps=50 --set sampling.kept_samples=64 --quiet)
  # A learned guidance model: a few training iterations.
  grep -q "^method: guidance" "$source_dir/$relative" && grep -q "kind: learned" "$source_dir/$relative" &&
    sizes+=(--set training.iterations=4 --set training.batch=64 --set training.checkpoint_every=2)
  # Guidance on images: a small U-Net, a few samples on a very coarse grid.
  grep -q "^method: guidance" "$source_dir/$relative" && grep -q "^  images:" "$source_dir/$relative" &&
    sizes+=(--set model.channels=4 --set training.batch=8 --set sampling.samples=8 --set sampling.steps=3
            --set sampling.kept_samples=4)
  # The Fredkin study (no training, no chains): a few samples.
  grep -q "kind: fredkin" "$source_dir/$relative" && sizes=(--set denoising.samples=64 --quiet)
  # Image configs: the first 512 training images; DxMI's feature classifier trains on them (once), and
  # its prior's many-step reading takes 20 steps.
  grep -q "name: fashion_mnist" "$source_dir/$relative" && sizes+=(--set data.limit=512)
  grep -q "name: fashion_mnist" "$source_dir/$relative" && grep -q "^method: dxmi" "$source_dir/$relative" &&
    sizes+=(--set "eval.classifier=$work/classifier.h5" --set eval.reference_steps=20)
  echo "config $relative"
  "${mpirun[@]}" "$tilt" train "$source_dir/$relative" --out "$work/$name" "${sizes[@]}" "${extra[@]}"
  [[ -s "$work/$name/eval.json" ]] || fail "$relative produced no eval.json"
done

# Tensor networks: the Ising study holds every scheme (Wolff too) and the transfer matrix's exact
# energy; exact Fredkin denoising leaves only Dyck paths.
ising="$work/configs_tn_ising_cylinder_l8.yaml"
grep -q '"exact_energy_per_site"' "$ising/eval.json" || fail "tn eval.json lacks the exact energy: $(cat "$ising/eval.json")"
/usr/bin/python3 - "$ising/study.h5" <<'PY' || fail "tn study.h5 lacks the schemes"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    schemes = bytes(f["schemes"][()]).decode().split()
    assert schemes[:3] == ["local", "wolff", "disconnected"] and len(f["acceptance"]) == len(schemes), schemes
PY
grep -Eq '"denoised_dyck_fraction_t1":1(\.0)?[,}]' "$work/configs_tn_fredkin_n64.yaml/eval.json" ||
  fail "Fredkin denoising left a non-Dyck path: $(cat "$work/configs_tn_fredkin_n64.yaml/eval.json")"

# A 2-D DxMI run writes its learned energy on the exact density's grid; the report draws it.
dxmi_2d="$work/configs_dxmi_8gaussians_t4.yaml"
/usr/bin/python3 - "$dxmi_2d/samples.h5" <<'PY' || fail "2-D DxMI samples.h5 lacks the learned energy"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    energy = f["energy"][()]
    assert energy.shape == f["exact/log_density"].shape == (200, 200) and np.isfinite(energy).all(), energy.shape
PY
"$tilt" report "$dxmi_2d" --out "$work/dxmi_2d_report" >/dev/null
[[ -s "$work/dxmi_2d_report/energy.png" ]] || fail "the DxMI report drew no energy.png"
# prior.from compares the noise predictors only: a prior trained without the critics' Fourier
# features starts a run whose critics read them.
dxmi_2d_small=(--set prior.batch=16 --set train.batch=16 --set eval.samples=64 --quiet)
"$tilt" train "$source_dir/configs/dxmi/8gaussians_t4.yaml" --out "$work/dxmi_2d_prior" "${dxmi_2d_small[@]}" \
  --set prior.iterations=3 --set train.iterations=0 --set network.critic_fourier_features=0
"$tilt" train "$source_dir/configs/dxmi/8gaussians_t4.yaml" --out "$work/dxmi_2d_from_prior" "${dxmi_2d_small[@]}" \
  --set prior.iterations=0 --set "prior.from=$work/dxmi_2d_prior" --set train.iterations=2 \
  --set network.critic_fourier_features=8
[[ -s "$work/dxmi_2d_from_prior/eval.json" ]] || fail "prior.from refused a prior whose critics differ"

# A multivariate diffusion on images reports bits per dimension and writes sample images for grids.
# The scale-scan tool: a trained guidance model rescanned at other scales (--resume of the finished
# run with another sampling section) without training again.
learned="$work/configs_guidance_squares_2d_learned.yaml"
"${mpirun[@]}" "$tilt" train "$source_dir/configs/guidance/squares_2d_learned.yaml" --resume "$learned" \
  --set training.iterations=4 --set training.batch=64 --set training.checkpoint_every=2 --set sampling.samples=256 \
  --set sampling.steps=20 --set sampling.kept_samples=16 --set 'sampling.scales=[0, 2]' > "$work/rescan.log"
grep -q '"in_support_fraction_w2"' "$learned/eval.json" || fail "the rescan left no w = 2 row: $(cat "$learned/eval.json")"
grep -q "training the conditional model" "$work/rescan.log" || fail "the rescan did not load the trained model"
grep -q "^iter " "$work/rescan.log" && fail "the rescan trained again: $(cat "$work/rescan.log")"

mdm_images="$work/configs_mdm_fashion_mnist_cld.yaml"
grep -q '"test_bpd"' "$mdm_images/eval.json" || fail "image MDM eval.json lacks test_bpd: $(cat "$mdm_images/eval.json")"
/usr/bin/python3 - "$mdm_images/samples.h5" <<'PY' || fail "image MDM samples.h5 lacks /images [64, 28, 28]"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    assert f["images"].shape == (64, 28, 28) and f["images"].dtype == "uint8", f["images"]
PY

# DxMI on images from a prior another run trained (prior.from), and the data set's errors: a
# truncated IDX file stops the run with one line naming the file, before any run directory exists.
images="$source_dir/configs/dxmi/fashion_mnist_t10.yaml"
image_sizes=(--set data.limit=512 --set "eval.classifier=$work/classifier.h5" --set eval.reference_steps=20
             --set eval.samples=64 --set train.batch=16 --set train.log_every=1 --quiet)
"${mpirun[@]}" "$tilt" train "$images" --out "$work/image_prior" "${image_sizes[@]}" --set train.iterations=0 \
  --set prior.iterations=3 --set prior.batch=16
"${mpirun[@]}" "$tilt" train "$images" --out "$work/images_from_prior" "${image_sizes[@]}" --set train.iterations=2 \
  --set prior.iterations=0 --set "prior.from=$work/image_prior" --set dxmi.guidance_scale=0.5
/usr/bin/python3 - "$work/images_from_prior/eval.json" "$work/image_prior/eval.json" <<'PY' ||
import json, sys
run, source = (json.load(open(p)) for p in sys.argv[1:])
# The same prior (loaded, not retrained) on the same noise: the same starting FFD, 100 steps too.
for key in ("prior_ffd", "prior_reference_ffd"):
    assert abs(run[key] - source[key]) < 1e-6 * max(1, source[key]), (key, run, source)
PY
  fail "prior.from did not start from the other run's prior"
# Value guidance through the U-Net chain and the convolutional critics: the run above trained with
# guided rollouts; evaluated again (--resume of the finished run) without guidance it gives its own
# FFD back (so a difference is the guidance's), under eval.guidance_scale another one; nothing
# trains again.
for scale in 0 0.5; do
  cp -r "$work/images_from_prior" "$work/images_guided_$scale"
  "${mpirun[@]}" "$tilt" train --resume "$work/images_guided_$scale" --set eval.guidance_scale=$scale \
    > "$work/guided_$scale.log"
  grep -q "^iter " "$work/guided_$scale.log" && fail "the evaluation trained again: $(cat "$work/guided_$scale.log")"
done
/usr/bin/python3 - "$work/images_from_prior/eval.json" "$work/images_guided_0/eval.json" \
  "$work/images_guided_0.5/eval.json" <<'PY' ||
import json, math, sys
plain, again, guided = (json.load(open(p)) for p in sys.argv[1:])
assert again["ffd"] == plain["ffd"], (again, plain)
assert math.isfinite(guided["ffd"]) and guided["ffd"] != plain["ffd"], (guided, plain)
assert guided["prior_ffd"] == plain["prior_ffd"], (guided, plain)
PY
  fail "eval.guidance_scale did not guide the image samples"
# A run past its prior phase holds DxMI's network, not its prior: refused before a directory is made.
set +e
message=$("$tilt" train "$images" --out "$work/from_dxmi_run" "${image_sizes[@]}" --set prior.iterations=0 \
  --set "prior.from=$work/images_from_prior" 2>&1)
status=$?
set -e
[[ $status -ne 0 && $message == *"ran 2 DxMI iterations past its prior"* ]] ||
  fail "prior.from accepted a run past its prior phase: $message"
[[ ! -e "$work/from_dxmi_run" ]] || fail "a refused prior.from left a run directory"
set +e
message=$("$tilt" train "$images" --out "$work/from_other_network" "${image_sizes[@]}" --set prior.iterations=0 \
  --set "prior.from=$work/image_prior" --set network.channels=4 2>&1)
status=$?
set -e
[[ $status -ne 0 && $message == *"trained the noise predictor {architecture: unet, channels: 16}"* ]] ||
  fail "prior.from accepted a prior of another network: $message"
[[ ! -e "$work/from_other_network" ]] || fail "a refused prior.from left a run directory"
broken="$work/broken_idx"
mkdir "$broken"
cp /usr/share/datasets/fashion-mnist/t10k-* /usr/share/datasets/fashion-mnist/train-labels-* "$broken/"
(set +o pipefail; gzip -dc /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz | head -c 1000000 \
  >"$broken/train-images-idx3-ubyte")  # head closes the pipe early: gzip's SIGPIPE is expected
set +e
message=$("$tilt" train "$images" --out "$work/broken_run" --set "data.path=$broken" --quiet 2>&1)
status=$?
set -e
[[ $status -ne 0 ]] || fail "a truncated IDX file was accepted"
[[ $message == *"train-images-idx3-ubyte' is truncated"* ]] || fail "truncated IDX message: $message"
[[ $(wc -l <<<"$message") -eq 1 ]] || fail "truncated IDX message is not one line: $message"
[[ ! -e "$work/broken_run" ]] || fail "a truncated IDX file left a run directory"

# Every shipped sweep expands into rows whose configs all validate.
for sweep in "$source_dir"/configs/sweeps/*.yaml; do
  "$tilt" sweep "$sweep" --out "$work/sweep_$(basename "$sweep" .yaml)" | grep -q "rows in" || fail "$sweep does not expand"
done

# A sweep value with spaces, quotes and shell metacharacters reaches tilt unchanged and no shell
# expands it (it would replace $(id) and split at the spaces): the neural prior's run directory gets
# such a name.
odd="$work/prior dir 'q' \"dq\" \$(id) \`id\` ;&|*"
cp -r "$work/configs_priors_gmm25_mle.yaml" "$odd"
cat >"$work/odd_sweep.yaml" <<YAML
name: odd
config: $source_dir/configs/rtb/gmm25_neural_to_gmm9.yaml
set: {train.iterations: 2, train.batch: 16, eval.samples: 32, process.steps: 10}
grid:
  prior.run_dir: ['$(sed "s/'/''/g" <<<"$odd")']
ranks: 2
YAML
OMPI_MCA_rmaps_base_oversubscribe=1 "$tilt" sweep "$work/odd_sweep.yaml" --out "$work/odd" --local >/dev/null
grep -qF "run_dir: $odd" "$work/odd/rows/000/config.yaml" || fail "the odd path did not reach tilt unchanged: $(grep run_dir "$work/odd/rows/000/config.yaml")"
[[ -s "$work/odd/rows/000/eval.json" ]] || fail "the odd-path row did not finish"

# tilt report draws a run's figures (samples over the exact density, training curves).
"$tilt" report "$work/run" >/dev/null
for file in report.md samples.png training.png; do
  [[ -s "$work/run/report/$file" ]] || fail "tilt report wrote no $file"
done
echo "cli: all checks passed"
