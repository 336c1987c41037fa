# Shared helpers of the shell tests (sourced).

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s; fails the test on timeout.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for: $what"
    sleep 0.2
  done
}

# rank_pid RUN_DIR VARIABLE RANK: the pid of the `tilt train` rank writing RUN_DIR whose environment
# has VARIABLE=RANK (OMPI_COMM_WORLD_RANK under mpirun, SLURM_PROCID under srun).
rank_pid() {
  local pid
  for pid in $(pgrep -f "tilt train .*--out $1( |$)"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "$2=$3"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# json_field FILE KEY: a top-level value of a JSON file.
json_field() {
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# expect_rank_kill_ends_job LAUNCHER_PID RUN_DIR RANK_VARIABLE OUTPUT: kills rank 1 of the job that
# LAUNCHER_PID (mpirun or srun, in the background, output to OUTPUT) runs into RUN_DIR, once it has
# a checkpoint; the launcher must then fail within 30 s with a message naming rank 1.
expect_rank_kill_ends_job() {
  local launcher=$1 run_dir=$2 variable=$3 output=$4
  wait_until 60 "the first checkpoint" test -s "$run_dir/checkpoint.h5"
  local victim
  victim=$(rank_pid "$run_dir" "$variable" 1) || fail "rank 1 not found"
  kill -KILL "$victim"
  local started=$SECONDS status=0
  wait "$launcher" || status=$?
  ((status != 0)) || fail "the launcher exited 0 after a rank was killed"
  ((SECONDS - started < 30)) || fail "the job took $((SECONDS - started)) s to end after the kill"
  grep -Eq "rank 1|task 1" "$output" || fail "no message names rank 1: $(cat "$output")"
}
