#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests and for trying the batch scripts:
#   scripts/slurm/cluster.sh start DIR   writes DIR/slurm.conf, starts munged, slurmctld, slurmd
#   scripts/slurm/cluster.sh stop DIR    stops the daemons it started
# Then `export SLURM_CONF=DIR/slurm.conf` and use sbatch/squeue/scancel as on any cluster.
# Needs root and Debian's slurm-wlm and munge (scripts/setup.sh installs them).
set -euo pipefail
action=${1:?start or stop}
dir=$(mkdir -p "${2:?a folder for the configuration and state}" && cd "$2" && pwd)
node=$(hostname -s)
cpus=${PERTURB_SLURM_CPUS:-2}

case "$action" in
start)
  [ "$(id -u)" = 0 ] || { echo "cluster.sh: needs root (the daemons run as root here)" >&2; exit 1; }
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  # munge: the Debian package's key, or a fresh one; our own socket so a system munged is untouched.
  key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of="$key" status=none
    chmod 400 "$key"
  fi
  chown -R root:root "$dir/munge"
  chmod 700 "$dir/munge"
  munged --force --key-file="$key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
  cat > "$dir/slurm.conf" <<CONF
ClusterName=perturb-test
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${PERTURB_SLURMCTLD_PORT:-16817}
SlurmdPort=${PERTURB_SLURMD_PORT:-16818}
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobRequeue=1
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=600
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=perturb Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" -i
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "cluster.sh: node $node up with $cpus CPUs (SLURM_CONF=$SLURM_CONF)"
      exit 0
    fi
    sleep 0.5
  done
  echo "cluster.sh: the node did not come up; logs in $dir/log" >&2
  tail -5 "$dir/log/"*.log >&2 || true
  exit 1
  ;;
stop)
  for pid in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  for pid in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    for _ in $(seq 50); do [ -s "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null || break; sleep 0.1; done
  done
  ;;
*) echo "cluster.sh: start or stop, not $action" >&2; exit 2 ;;
esac
