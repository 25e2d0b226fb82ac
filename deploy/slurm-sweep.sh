#!/bin/bash
# A dsim sweep as a Slurm job array: one array task per shard, every task writing into
# one directory on a shared filesystem (see docs/sweep.md).
#
#   sbatch --array=0-7 deploy/slurm-sweep.sh                  # 8 shards
#   sbatch --dependency=afterany:JOBID --wrap "dsim sweep-merge $PWD/sweeps/arq"
#
# or, once every task is done, run `dsim sweep-merge sweeps/arq` anywhere that sees the
# directory. A task whose runs violate an invariant exits 1 (its runs file is written
# all the same); a task that fails to start can be resubmitted alone with
# `sbatch --array=<id> ...`: it rewrites only its own shard.
#
# Override any of these with the environment (sbatch --export=ALL,SEEDS=1..50 ...).
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

# Array ids run from --array's first id; shards count from 0.
SHARD=$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN))/$SLURM_ARRAY_TASK_COUNT

exec "$DSIM" sweep "$SCENARIO" \
    --seeds "$SEEDS" \
    --set "$SET" \
    --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --shard "$SHARD" \
    --out "$OUT"
