#!/usr/bin/env bash
# After a task of the array was cancelled by hand and requeued (scontrol requeue ARRAY_TASK),
# Slurm marks the merge job's `afterok:ARRAY` as never satisfied. Re-arm it on the tasks:
#
#   scripts/slurm/rearm.sh ARRAY_JOB_ID MERGE_JOB_ID N
#
# (A task requeued by preemption or by `scontrol requeue` while running needs no re-arming.)
set -euo pipefail
array=${1:?usage: rearm.sh ARRAY_JOB_ID MERGE_JOB_ID N}
merge=${2:?usage: rearm.sh ARRAY_JOB_ID MERGE_JOB_ID N}
n=${3:?usage: rearm.sh ARRAY_JOB_ID MERGE_JOB_ID N}
tasks=$(for i in $(seq 0 $((n - 1))); do printf ':%s_%s' "$array" "$i"; done)
scontrol update jobid="$merge" dependency="afterok$tasks"
