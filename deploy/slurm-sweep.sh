#!/bin/bash
# A dsim sweep as a Slurm job array: one array task per shard, every task writing into
# one directory on a shared filesystem (see docs/sweep.md).
#
#   sbatch --array=0-7 deploy/slurm-sweep.sh                  # 8 shards, 0 to 7
#   sbatch --dependency=afterany:JOBID --wrap "dsim sweep-merge $PWD/sweeps/arq"
#
# or, once every task is done, run `dsim sweep-merge sweeps/arq` anywhere that sees the
# directory. The array task id is the shard index, so the array is 0-(N-1) for N shards
# (a throttle such as --array=0-7%2 is fine). A task whose runs violate an invariant
# exits 1 (its runs file is written all the same); a task that failed can be resubmitted
# alone, naming the shard count: `SHARDS=8 sbatch --array=5 deploy/slurm-sweep.sh`
# rewrites only shard 5 of 8.
#
# Override any of these with the environment: `SEEDS=1..50 sbatch ...` (sbatch exports
# the whole environment by default). Not with --export=ALL,SET=...: sbatch splits
# --export at every comma, so SET=network.default.loss=0,0.1 would arrive as "...=0".
# DSIM is the dsim binary, a path or a name on the compute nodes' PATH.
# --cpus-per-task is --jobs; lower it on the command line for small nodes
# (sbatch --cpus-per-task=1 ... overrides the line below).
#SBATCH --job-name=dsim-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=4
#SBATCH --time=01:00:00
#SBATCH --output=dsim-sweep-%A_%a.log
set -euo pipefail

DSIM=${DSIM:-dsim}
SCENARIO=${SCENARIO:-arq-stop-and-wait}
SEEDS=${SEEDS:-1..20}
SET=${SET:-network.default.loss=0,0.05,0.1,0.15,0.2,0.25,0.3}
OUT=${OUT:-$PWD/sweeps/arq}

die() {
  echo "slurm-sweep.sh: $*" >&2
  exit 2
}

# The shard: this task's array id, of SHARDS shards. SHARDS defaults to the array's
# size when the array is the whole 0-(N-1); a partial array (resubmitting some shards)
# must name it, or each task would take itself for shard 0 of a smaller sweep.
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] ||
  die "not a job array task: submit with sbatch --array=0-7 for 8 shards"
first=${SLURM_ARRAY_TASK_MIN:-} last=${SLURM_ARRAY_TASK_MAX:-} tasks=${SLURM_ARRAY_TASK_COUNT:-}
if [ -z "${SHARDS:-}" ]; then
  if [ "$first" != 0 ] || [ "$last" != $((tasks - 1)) ]; then
    die "the array is $first-$last with $tasks tasks, not 0-(N-1): set SHARDS to the sweep's number of shards (SHARDS=8 sbatch --array=5 ... reruns shard 5 of 8)"
  fi
  SHARDS=$tasks
fi
[ "$SLURM_ARRAY_TASK_ID" -lt "$SHARDS" ] ||
  die "array task $SLURM_ARRAY_TASK_ID is not a shard of $SHARDS (their ids are 0 to $((SHARDS - 1)))"
command -v "$DSIM" >/dev/null ||
  die "no dsim binary \"$DSIM\" on $(hostname): set DSIM to its path"

exec "$DSIM" sweep "$SCENARIO" \
    --seeds "$SEEDS" \
    --set "$SET" \
    --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" \
    --out "$OUT"
