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
