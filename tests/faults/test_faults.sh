#!/usr/bin/env bash
# Faults with real processes under mpirun (the srun ones are in tests/slurm/test_slurm.sh): a rank
# killed with SIGKILL, a corrupt or truncated checkpoint or samples file, a full and an unwritable
# run directory, an --out that already holds a run, and SIGUSR1 (checkpoint, exit 75, resume to the
# same result as an undisturbed run).
set -euo pipefail
tilt=$1
source_dir=$2
source "$source_dir/tests/lib.sh"
work=$(mktemp -d)
mounted=""
cleanup() {
  [[ -n $mounted ]] && umount "$mounted" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mpirun=(mpirun --allow-run-as-root --oversubscribe -np 2)
config="$source_dir/configs/rtb/gmm25_gaussian.yaml"
small=(--set train.batch=32 --set process.steps=10 --set eval.samples=64 --set train.checkpoint_every=20 --quiet)

# refused MESSAGE_PART COMMAND...: COMMAND must fail with a message containing MESSAGE_PART.
refused() {
  local part=$1 message status=0
  shift
  message=$("$@" 2>&1) || status=$?
  ((status != 0)) || fail "accepted: $*"
  [[ $message == *"$part"* ]] || fail "message for '$*' lacks '$part': $message"
}

echo "== SIGKILL of rank 1 ends the job naming the rank; the checkpoint resumes"
"${mpirun[@]}" "$tilt" train "$config" --out "$work/killed" "${small[@]}" --set train.iterations=100000 \
  >"$work/killed.out" 2>&1 &
expect_rank_kill_ends_job $! "$work/killed" OMPI_COMM_WORLD_RANK "$work/killed.out"
"${mpirun[@]}" "$tilt" train "$config" --out "$work/killed" --auto-resume "${small[@]}" --set train.iterations=60
[[ -s "$work/killed/eval.json" ]] || fail "the killed run did not resume to the end"

echo "== SIGUSR1 to mpirun: checkpoint, exit 75, and the resumed run equals an undisturbed one"
"${mpirun[@]}" "$tilt" train "$config" --out "$work/whole" "${small[@]}" --set train.iterations=300
"${mpirun[@]}" "$tilt" train "$config" --out "$work/stopped" "${small[@]}" --set train.iterations=300 &
launcher=$!
wait_until 60 "the first checkpoint" test -s "$work/stopped/checkpoint.h5"
# mpirun forwards SIGUSR1 to the ranks and passes their exit status on (after SIGTERM it forwards
# too, the ranks checkpoint alike, but mpirun itself exits 1).
kill -USR1 "$launcher"
status=0
wait "$launcher" || status=$?
((status == 75)) || fail "a stopped run exited with $status, not 75"
[[ ! -e "$work/stopped/eval.json" ]] || fail "the stopped run went on to evaluate"
"${mpirun[@]}" "$tilt" train "$config" --out "$work/stopped" --auto-resume "${small[@]}" --set train.iterations=300
/usr/bin/python3 "$source_dir/tests/compare_runs.py" "$work/whole" "$work/stopped"

echo "== corrupt and truncated files are refused"
cp -r "$work/whole" "$work/corrupt"
/usr/bin/python3 - "$work/corrupt/checkpoint.h5" "$work/corrupt/samples.h5" <<'PY'
import sys, h5py
for path, name in ((sys.argv[1], "parameters/log_z"), (sys.argv[2], "samples")):
    with h5py.File(path, "r") as file:
        offset = file[name].id.get_offset()
    with open(path, "r+b") as raw:  # flip one bit of the dataset's stored bytes
        raw.seek(offset)
        byte = raw.read(1)[0]
        raw.seek(offset)
        raw.write(bytes([byte ^ 0x10]))
PY
refused "corrupt" "$tilt" train --resume "$work/corrupt" --set train.iterations=320 --quiet
refused "corrupt" "$tilt" eval "$work/corrupt" --samples 16
refused "corrupt" "$tilt" report "$work/corrupt"
cp -r "$work/whole" "$work/truncated"
truncate --size=$(($(stat -c %s "$work/truncated/checkpoint.h5") / 2)) "$work/truncated/checkpoint.h5"
refused "checkpoint.h5" "$tilt" train --resume "$work/truncated" --set train.iterations=320 --quiet
refused "checkpoint.h5" "$tilt" eval "$work/truncated" --samples 16

echo "== an existing --out is refused unless --replace"
refused "already holds a run" "$tilt" train "$config" --out "$work/whole" "${small[@]}" --set train.iterations=10
"$tilt" train "$config" --out "$work/whole" --replace "${small[@]}" --set train.iterations=10
[[ $(tail -n 1 "$work/whole/metrics.csv" | cut -d, -f1) == 10 ]] || fail "--replace did not start afresh"

echo "== an unwritable run directory"
touch "$work/a_file"
refused "Not a directory" "$tilt" train "$config" --out "$work/a_file/run" "${small[@]}" --set train.iterations=10

echo "== a full run directory: a clear error, the earlier checkpoint intact"
if mkdir -p "$work/small_fs" && mount -t tmpfs -o size=3m tmpfs "$work/small_fs" 2>/dev/null; then
  mounted="$work/small_fs"
  "$tilt" train "$config" --out "$mounted/run" "${small[@]}" --set train.iterations=20
  cp "$mounted/run/checkpoint.h5" "$work/checkpoint_before.h5"
  # Fill the file system, leaving too little room for another checkpoint.
  dd if=/dev/zero of="$mounted/filler" bs=4k status=none 2>/dev/null || true
  refused "No space left on device" "$tilt" train --resume "$mounted/run" --set train.iterations=40 --quiet
  cmp "$mounted/run/checkpoint.h5" "$work/checkpoint_before.h5" || fail "the checkpoint changed"
  ! ls "$mounted/run/"*.tmp.* >/dev/null 2>&1 || fail "temporary files were left behind"
  rm "$mounted/filler"
  "$tilt" train --resume "$mounted/run" --set train.iterations=40 --quiet
  [[ -s "$mounted/run/eval.json" ]] || fail "the run did not continue once there was room"
else
  echo "SKIP: cannot mount a tmpfs here (needs root)"
fi
echo "faults: all checks passed"
