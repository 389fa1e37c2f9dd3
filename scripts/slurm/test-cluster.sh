#!/usr/bin/env bash
# The sharded run on a real Slurm: start a single-node cluster (cluster.sh), run `perturb attack`
# unsharded, then as a 4-task job array with a dependent merge job, and check the merged report
# is byte for byte the unsharded one; then again with one task cancelled mid-way (scancel),
# requeued, resumed from its partial report, and the merge job re-armed. Prints the timings.
# Needs root and the set-up's slurm-wlm and munge; the daemons are stopped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
perturb=${PERTURB_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/perturb}
[ -x "$perturb" ] || { echo "test-cluster: no perturb binary at $perturb (cargo build --release)" >&2; exit 1; }
work=$(mktemp -d /tmp/perturb-slurm.XXXXXX)
cleanup() { "$root/scripts/slurm/cluster.sh" stop "$work/cluster" || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "test-cluster: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.1f}')"; }

"$root/scripts/slurm/cluster.sh" start "$work/cluster"
export SLURM_CONF=$work/cluster/slurm.conf

# 400 images in 20 batches of 20, PGD-100: a few seconds per shard, long enough to cancel one.
cmd=("$perturb" attack --models-dir "$root/models" --count 400 --batch-size 20 --steps 100 --eps 0.1 --json)

t0=$(now)
RAYON_NUM_THREADS=2 "${cmd[@]}" > "$work/whole.json"
t1=$(now)
echo "test-cluster: unsharded run $(elapsed "$t0" "$t1") s"

# Wait for FILE to exist and hold a report, at most $2 seconds.
wait_report() {
  for _ in $(seq $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done
  squeue >&2 || true
  fail "no report at $1 after $2 s"
}

# 1. Four shards and a merge job.
read -r array merge < <("$root/scripts/slurm/submit.sh" 4 "$work/run1" --json -- "${cmd[@]}")
t2=$(now)
wait_report "$work/run1/report" 300
t3=$(now)
cmp "$work/whole.json" "$work/run1/report" || fail "the merged report differs from the unsharded run"
echo "test-cluster: 4-task array + merge job $(elapsed "$t2" "$t3") s (jobs $array, $merge): same report"

# 2. Cancel task 1 once it has written a batch, requeue it, re-arm the merge.
read -r array merge < <("$root/scripts/slurm/submit.sh" 4 "$work/run2" --json -- "${cmd[@]}")
part=$work/run2/shard-1.jsonl
for _ in $(seq 3000); do
  [ -f "$part" ] && [ "$(wc -l < "$part")" -ge 2 ] && break
  sleep 0.02
done
[ "$(wc -l < "$part")" -ge 2 ] || fail "task 1 never wrote a batch"
scancel "${array}_1"
for _ in $(seq 100); do
  state=$(scontrol show job "${array}_1" | sed -n 's/.*JobState=\([A-Z]*\).*/\1/p' | head -1)
  [ "$state" = CANCELLED ] && break
  [ "$state" = COMPLETED ] && fail "task 1 finished before it could be cancelled"
  sleep 0.1
done
[ "$state" = CANCELLED ] || fail "task 1 is $state, not CANCELLED"
done_before=$(($(wc -l < "$part") - 1))
[ "$done_before" -lt 5 ] || fail "task 1 had written all its batches before the cancel"
scontrol requeue "${array}_1"
# A requeued job waits for a begin time by default; start it now.
scontrol update jobid="${array}_1" StartTime=now
"$root/scripts/slurm/rearm.sh" "$array" "$merge" 4
wait_report "$work/run2/report" 300
grep -q "resuming, $done_before of 5 units already done" "$work/run2/slurm-${array}_1.out" \
  || { cat "$work/run2/slurm-${array}_1.out" >&2; fail "task 1 did not resume from its partial report"; }
cmp "$work/whole.json" "$work/run2/report" || fail "the report after cancel and requeue differs"
echo "test-cluster: cancelled task 1 after $done_before of 5 batches, requeued, resumed: same report"
