#!/usr/bin/env bash
# Integration test on a real Slurm started here (launch/slurm/local_cluster.sh): the single-node
# template as 2 ranks through srun --mpi=pmix; a 4-row sweep as a job array, one running row
# preempted (USR1 to the batch shell -> checkpoint -> exit 75 -> scontrol requeue -> resume) and
# every row checked bitwise against the same rows run undisturbed with mpirun; the report; a rank
# killed under srun. Stops everything it started.
set -euo pipefail
tilt=$1
source_dir=$2
source "$source_dir/tests/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: starting slurmctld/slurmd needs root"; exit 0; }
work=$(mktemp -d)
cluster="$work/cluster"
cleanup() {
  bash "$source_dir/launch/slurm/local_cluster.sh" stop "$cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
exports=$(bash "$source_dir/launch/slurm/local_cluster.sh" start "$cluster") || fail "the local Slurm did not start"
eval "$exports"
export TILT="$tilt" TILT_SOURCE_DIR="$source_dir"
config="$source_dir/configs/rtb/gmm25_gaussian.yaml"
small=(--set train.iterations=20 --set train.batch=32 --set process.steps=10 --set eval.samples=64)

echo "== single-node template, 2 ranks through srun --mpi=pmix"
(cd "$work" && sbatch --wait --quiet --output="$work/single.out" \
  "$source_dir/launch/slurm/cpu_one_node.sbatch" "$config" "$work/single" "${small[@]}")
[[ -s "$work/single/eval.json" ]] || fail "template run has no eval.json: $(cat "$work/single.out")"
grep -q "2 ranks on 1 node(s)" "$work/single.out" || fail "no layout line: $(cat "$work/single.out")"
grep -q "ranks: 2" "$work/single/provenance.yaml" || fail "provenance lacks ranks: 2"
grep -Eq 'slurm_job_id: "?[0-9]+' "$work/single/provenance.yaml" || fail "provenance lacks the Slurm job id"

echo "== sweep as a job array, row 000 preempted while it runs"
sweep="$work/sweep"
"$tilt" sweep "$source_dir/tests/slurm/sweep.yaml" --out "$sweep" --slurm
# Submitting again while the array's tasks are pending or running submits nothing.
"$tilt" sweep "$source_dir/tests/slurm/sweep.yaml" --out "$sweep" --slurm | grep -q "nothing to submit" ||
  fail "rows owned by live array tasks were submitted again"
wait_until 120 "row 000's first checkpoint" test -s "$sweep/rows/000/checkpoint.h5"
job=$(json_field "$sweep/status/000.json" slurm_job)
# scancel signals the batch shell but may still answer "Job can not be altered now" (and fail) for an
# array task; whether the signal arrived is checked through the row's status below.
scancel --signal=USR1 --batch "$job" || true
wait_until 60 "row 000 preempted" grep -q '"preempted"' "$sweep/status/000.json"
# Slurm holds a requeued job back for about two minutes; the test asks for it to start now.
wait_until 30 "row 000 requeued" bash -c "squeue --noheader --jobs '$job' --states=PENDING --format=%i | grep -q ."
scontrol update JobId="$job" StartTime=now
wait_until 300 "every array task to end" bash -c "! squeue --noheader --format=%i | grep -q ."
for row in 000 001 002 003; do
  [[ $(json_field "$sweep/status/$row.json" state) == finished ]] || fail "row $row: $(cat "$sweep/status/$row.json")"
done
[[ $(json_field "$sweep/status/000.json" attempts) -eq 2 ]] || fail "row 000 should have run twice"
grep -q "stopped by signal" "$sweep/logs/000.log" || fail "row 000's log shows no stop"
# Re-running the sweep submits nothing: every row is finished.
"$tilt" sweep "$source_dir/tests/slurm/sweep.yaml" --out "$sweep" --slurm | grep -q "nothing to submit" ||
  fail "a finished sweep was submitted again"

echo "== the same rows undisturbed (mpirun), compared bit for bit"
OMPI_MCA_rmaps_base_oversubscribe=1 "$tilt" sweep "$source_dir/tests/slurm/sweep.yaml" --out "$work/undisturbed" --local
/usr/bin/python3 "$source_dir/tests/compare_runs.py" "$sweep" "$work/undisturbed"

echo "== report"
"$tilt" report "$sweep" >/dev/null
grep -q "slurm_test" "$sweep/report/report.md" || fail "report.md does not name the sweep"
ls "$sweep/report/"*.png >/dev/null || fail "the report has no figures"

echo "== a rank killed under srun ends the job, naming the rank; the checkpoint resumes"
long=(--set train.iterations=100000 --set train.batch=32 --set process.steps=10 --set train.checkpoint_every=20)
srun --mpi=pmix --ntasks=2 --kill-on-bad-exit=1 "$tilt" train "$config" --out "$work/killed" --quiet "${long[@]}" \
  >"$work/killed.out" 2>&1 &
expect_rank_kill_ends_job $! "$work/killed" SLURM_PROCID "$work/killed.out"
srun --mpi=pmix --ntasks=2 "$tilt" train "$config" --out "$work/killed" --auto-resume --quiet "${long[@]}" \
  --set train.iterations=60 --set eval.samples=64
[[ -s "$work/killed/eval.json" ]] || fail "the killed run did not resume to the end"
echo "slurm: all checks passed"
