#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for tests and for trying the templates without a
# cluster (as root; packages slurm-wlm and munge, installed by launch/setup.sh).
#
#   eval "$(launch/slurm/local_cluster.sh start DIR)"   # starts munged (if not running), slurmctld,
#                                                         # slurmd; prints `export SLURM_CONF=...`
#   launch/slurm/local_cluster.sh stop DIR              # stops what `start` started
#
# Everything lives in DIR (config, state, logs); /etc/slurm is not touched. The node offers all of
# this machine's cores, and one partition, `debug`, allows requeueing.
set -euo pipefail
command=${1:?usage: local_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: local_cluster.sh start|stop DIR}")
conf="$dir/slurm.conf"

wait_for() {  # seconds, description, command...
  local seconds=$1 what=$2
  shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "local_cluster: $what did not happen within ${seconds}s (logs in $dir)" >&2
  return 1
}

start() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  local host
  host=$(hostname -s)
  cat >"$conf" <<CONF
ClusterName=tilt-local
SlurmctldHost=$host
SlurmctldPort=${TILT_SLURMCTLD_PORT:-6817}
SlurmdPort=${TILT_SLURMD_PORT:-6818}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmUser=root
ReturnToService=2
MpiDefault=none
JobRequeue=1
SchedulerParameters=defer_batch
MinJobAge=600
KillWait=5
NodeName=$host CPUs=$(nproc) RealMemory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048)) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  if ! pgrep -x munged >/dev/null; then
    [[ -s /etc/munge/munge.key ]] || mungekey -c -k /etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    # A munged that was killed leaves its socket and pid file behind; they would stop a new one.
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
    su -s /bin/sh munge -c /usr/sbin/munged
    touch "$dir/started_munged"
  fi
  wait_for 20 "munge answering" bash -c "munge -n | unmunge"
  SLURM_CONF="$conf" slurmctld -f "$conf"
  SLURM_CONF="$conf" slurmd -f "$conf"
  export SLURM_CONF="$conf"
  if ! wait_for 60 "the node becoming idle" bash -c "timeout 5 sinfo --noheader --states=idle --format=%N | grep -q ."; then
    tail -n 5 "$dir"/log/*.log >&2
    stop
    return 1
  fi
  echo "export SLURM_CONF=$conf"
}

stop() {
  export SLURM_CONF="$conf"
  timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  # The daemons were started as "slurm(ctld|d) -f $conf": that names exactly this cluster's processes.
  local daemons="^slurm(ctld|d) -f $conf\$"
  pkill -f -- "$daemons" 2>/dev/null || true
  if ! wait_for 15 "slurmctld and slurmd exiting" bash -c "! pgrep -f -- '$daemons'"; then
    pkill -KILL -f -- "$daemons" 2>/dev/null || true
  fi
  if [[ -e "$dir/started_munged" ]]; then
    pkill -x munged || true
    rm -f "$dir/started_munged"
  fi
  # Job steps (slurmstepd) end with their jobs; give them a moment before the caller removes DIR.
  wait_for 20 "slurmstepd exiting" bash -c '! pgrep -x slurmstepd'
}

case $command in
  start) start ;;
  stop) stop ;;
  *) echo "usage: local_cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
