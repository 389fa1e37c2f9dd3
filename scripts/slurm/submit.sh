#!/usr/bin/env bash
# Submit a perturb command as an N-task job array and a merge job that waits for it.
#
#   scripts/slurm/submit.sh N RUN_DIR [--json] -- perturb attack --model … --count 50000 --json
#
# Prints the two job ids ("ARRAY MERGE"); the report lands in RUN_DIR/report. Extra sbatch
# options (partition, GPUs, time) go in SBATCH_* environment variables, e.g.
# SBATCH_PARTITION=gpu SBATCH_GRES=gpu:1 (see `man sbatch`, INPUT ENVIRONMENT VARIABLES).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:?usage: submit.sh N RUN_DIR [MERGE_FLAGS...] -- PERTURB_COMMAND...}
run_dir=${2:?usage: submit.sh N RUN_DIR [MERGE_FLAGS...] -- PERTURB_COMMAND...}
shift 2
merge_flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do merge_flags+=("$1"); shift; done
[ "${1:-}" = "--" ] || { echo "submit.sh: put -- before the perturb command" >&2; exit 2; }
shift
[ $# -gt 1 ] || { echo "submit.sh: no perturb command after --" >&2; exit 2; }
perturb=$1
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
array=$(sbatch --parsable --array="0-$((n - 1))" --chdir="$run_dir" "$here/shard.sbatch" "$run_dir" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --chdir="$run_dir" \
  "$here/merge.sbatch" "$run_dir" "$perturb" "${merge_flags[@]}")
echo "$array ${merge%%;*}"
