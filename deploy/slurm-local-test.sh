#!/usr/bin/env bash
# Runs deploy/slurm-sweep.sh on a real Slurm: a single-node cluster brought up on this
# machine, and checks that the sweep it produces is byte for byte the same sweep run on
# one machine (see docs/sweep.md, "Testing the Slurm script on a real Slurm").
#
#   bash deploy/slurm-local-test.sh            # exit 0: the two sweeps are the same
#   DSIM=/path/to/dsim bash deploy/slurm-local-test.sh
#
# 1. Finds Slurm (slurmctld, slurmd, sbatch; Debian's slurm-wlm) and munge, or installs
#    them with apt-get, as root or through sudo. No apt access and no Slurm: it fails.
# 2. Writes a one-node slurm.conf in a temporary directory (this machine's CPUs and
#    memory from `slurmd -C`; no cgroups, no accounting, so it works in a container
#    without systemd) and starts munged, slurmctld and slurmd on it, with their own
#    socket, ports, state and logs there. /etc/slurm and /etc/munge are not touched;
#    every Slurm command gets SLURM_CONF.
# 3. Submits deploy/slurm-sweep.sh as a job array of 4 shards, waits for the tasks,
#    then merges them (dsim sweep-merge) and reports the sweep (dsim report).
# 4. Runs the same sweep on one machine (dsim sweep without --shard, dsim report) and
#    compares: the manifests, the run lines in run order, the merged tables and every
#    file of the two reports (summary.json first).
# Exit 0 only when everything matches; otherwise 1, naming the first difference. The
# daemons it started and the temporary directory are removed on every exit (trap).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
me="slurm-local-test"

# The sweep: small and quick (8 runs of a 10 MB stop-and-wait transfer, about a second
# of work in all), the scenario deploy/slurm-sweep.sh runs by default.
SCENARIO=arq-stop-and-wait
SEEDS=1..4
SET=network.default.loss=0,0.2
SHARDS=4
# How long the array may take, queueing included, before the test gives up.
TASK_TIMEOUT=120

say() { echo "$me: $*"; }
fail() {
  echo "$me: FAIL: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------
# Clean-up, on every exit: cancel the jobs, stop the daemons we started (by their
# process ids), end anything left that runs under our slurm.conf (a slurmstepd, a job
# script), remove the temporary directory and the policy-rc.d we may have added.
# ---------------------------------------------------------------------------------
tmp=""
conf=""
job=""
munged_pid=""
slurmctld_pid=""
slurmd_pid=""
added_policy=""
show_logs=""

# Stop one daemon: TERM, up to 10 s, then KILL.
stop_pid() {
  local pid=$1 name=$2
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name ($pid) did not stop on TERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Processes (other than this shell) whose environment names our slurm.conf: slurmd
# passes its environment to slurmstepd and to the job scripts.
ours() {
  local dir pid
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" != "$$" ] || continue
    if tr '\0' '\n' 2>/dev/null <"$dir/environ" | grep -qxF "SLURM_CONF=$conf"; then
      echo "$pid"
    fi
  done
}

cleanup() {
  local status=$? pid f
  set +e
  trap - EXIT INT TERM
  if [ -n "$job" ] && [ -n "$slurmctld_pid" ] && kill -0 "$slurmctld_pid" 2>/dev/null; then
    SLURM_CONF="$conf" scancel "$job" 2>/dev/null
    for _ in $(seq 1 50); do
      [ -z "$(SLURM_CONF="$conf" squeue -h -j "$job" 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  if [ -n "$show_logs" ] && [ "$status" != 0 ] && [ -n "$tmp" ] && [ -d "$tmp/log" ]; then
    for f in "$tmp"/log/*; do
      [ -s "$f" ] || continue
      echo "--- last lines of ${f#"$tmp"/} ---" >&2
      tail -n 12 "$f" >&2
    done
  fi
  stop_pid "$slurmd_pid" slurmd
  stop_pid "$slurmctld_pid" slurmctld
  if [ -n "$conf" ]; then
    for pid in $(ours); do
      say "ending leftover process $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
      kill -KILL "$pid" 2>/dev/null
    done
  fi
  stop_pid "$munged_pid" munged
  if [ -n "$added_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
  fi
  if [ -n "$tmp" ]; then
    rm -rf "$tmp"
  fi
  say "cleaned up (daemons stopped, temporary directory removed)"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS

# ---------------------------------------------------------------------------------
# 1. Slurm and munge, installed if missing.
# ---------------------------------------------------------------------------------
have_slurm() {
  local c
  for c in munged munge mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    command -v "$c" >/dev/null || return 1
  done
}

if ! have_slurm; then
  say "Slurm or munge missing: installing Debian's slurm-wlm and munge with apt-get"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || fail "not root and no sudo: install slurm-wlm and munge"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null || fail "no apt-get: install slurm-wlm and munge by hand"
  # Keep the packages' maintainer scripts from starting system daemons (munged on
  # /run/munge, slurmctld, slurmd): the test starts its own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $sudo apt-get update -qq -o DPkg::Lock::Timeout=120 || fail "apt-get update failed: no access to Debian's packages?"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=120 slurm-wlm munge >/dev/null ||
    fail "apt-get install slurm-wlm munge failed"
  if [ -n "$added_policy" ]; then
    $sudo rm -f /usr/sbin/policy-rc.d
    added_policy=""
  fi
  have_slurm || fail "slurm-wlm and munge installed, but their commands are not on the PATH"
fi
# The daemons run as root here (SlurmUser=root), as in the CI container.
[ "$(id -u)" = 0 ] || fail "run as root: the test starts munged, slurmctld and slurmd"
say "$(slurmd -V), $(munged -V | awk '{print $1; exit}')"

# ---------------------------------------------------------------------------------
# The dsim binary: $DSIM, or the release build (cargo builds it if needed).
# ---------------------------------------------------------------------------------
if [ -z "${DSIM:-}" ]; then
  say "DSIM not set: building the release dsim"
  (cd "$root" && cargo build --release --quiet -p scenarios --bin dsim)
  DSIM="${CARGO_TARGET_DIR:-$root/target}/release/dsim"
fi
resolved=$(command -v "$DSIM" || true)
[ -n "$resolved" ] || fail "no dsim binary at $DSIM"
DSIM=$(realpath "$resolved")
say "dsim: $DSIM"

# ---------------------------------------------------------------------------------
# 2. A one-node cluster in a temporary directory.
# ---------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/dsim-slurm-test.XXXXXX)
# munged wants execute permission for all on its socket's directories.
chmod 755 "$tmp"
mkdir -p "$tmp"/{munge,state,spool,log,work,one}
chmod 700 "$tmp/state" "$tmp/spool"
conf="$tmp/slurm.conf"
socket="$tmp/munge/munge.socket"

# Two free TCP ports for slurmctld and slurmd (nothing answering on 127.0.0.1).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if port_free "$p" && port_free $((p + 1)); then
    ctld_port=$p
    break
  fi
done
[ -n "$ctld_port" ] || fail "found no two free TCP ports"
slurmd_port=$((ctld_port + 1))

# This machine as slurmd sees it: "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105".
node_line=$(slurmd -C | head -n 1)
node=$(sed -n 's/^NodeName=\([^ ]*\) .*/\1/p' <<<"$node_line")
[ -n "$node" ] || fail "cannot read the node from slurmd -C: $node_line"
say "node: $node_line"

cat >"$conf" <<EOF
# A one-node cluster for deploy/slurm-local-test.sh (written by it, removed after).
ClusterName=dsim-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
MailProg=/bin/true
MpiDefault=none
# No cgroups (a container without systemd): processes tracked through /proc, tasks
# not bound, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Finished jobs stay visible to scontrol for 5 minutes (their exit codes are read).
MinJobAge=300
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# Wait up to $1 seconds for the command that follows to succeed.
wait_for() {
  local seconds=$1
  shift
  for _ in $(seq 1 $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
show_logs=1

mungekey --create --keyfile="$tmp/munge/munge.key" >/dev/null
munged --foreground --key-file="$tmp/munge/munge.key" --socket="$socket" \
  --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
  >"$tmp/log/munged.out" 2>&1 &
munged_pid=$!
wait_for 15 munge --socket="$socket" --no-input || fail "munged did not start"

SLURM_CONF="$conf" slurmctld -D -f "$conf" >"$tmp/log/slurmctld.out" 2>&1 &
slurmctld_pid=$!
wait_for 30 env SLURM_CONF="$conf" scontrol ping || fail "slurmctld did not start"

SLURM_CONF="$conf" slurmd -D -f "$conf" -N "$node" >"$tmp/log/slurmd.out" 2>&1 &
slurmd_pid=$!
node_idle() { [ "$(SLURM_CONF="$conf" sinfo -h -n "$node" -o %t)" = idle ]; }
wait_for 30 node_idle || fail "node $node did not come up idle: $(SLURM_CONF="$conf" sinfo -h -N -o '%N %t %E')"
say "munged, slurmctld (port $ctld_port) and slurmd (port $slurmd_port) up in $tmp; node $node idle"

# ---------------------------------------------------------------------------------
# 3. The sweep as a job array of $SHARDS shards, through deploy/slurm-sweep.sh.
# ---------------------------------------------------------------------------------
out="$tmp/work/sweep"
# The sweep's settings go through the environment (sbatch exports it all by default):
# --export=ALL,SET=... would cut SET at its first comma. One CPU a task: the script
# asks for 4, more than a small machine has.
job=$(cd "$tmp/work" && DSIM="$DSIM" SCENARIO="$SCENARIO" SEEDS="$SEEDS" SET="$SET" OUT="$out" \
  SLURM_CONF="$conf" sbatch --parsable --array=0-$((SHARDS - 1)) --cpus-per-task=1 \
  --output="$tmp/work/task-%A_%a.log" "$root/deploy/slurm-sweep.sh") ||
  fail "sbatch refused deploy/slurm-sweep.sh"
job=${job%%;*}
say "submitted job $job: deploy/slurm-sweep.sh --array=0-$((SHARDS - 1)) ($SCENARIO, seeds $SEEDS, $SET)"

deadline=$((SECONDS + TASK_TIMEOUT))
while [ -n "$(SLURM_CONF="$conf" squeue -h -j "$job" 2>/dev/null)" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail "job $job not done after ${TASK_TIMEOUT}s: $(SLURM_CONF="$conf" squeue -h -j "$job" -o '%i %T %R' | tr '\n' ' ')"
  fi
  sleep 0.5
done

# The cluster did its part; from here on a failure is the sweep's, not the daemons'.
show_logs=""

# Every task must have COMPLETED with exit code 0.
tasks=$(SLURM_CONF="$conf" scontrol -o show job "$job") || fail "scontrol show job $job failed"
bad=0
for id in $(seq 0 $((SHARDS - 1))); do
  line=$(grep "ArrayTaskId=$id " <<<"$tasks" || true)
  [ -n "$line" ] || fail "scontrol shows no task $id of job $job: $tasks"
  state=$(grep -o 'JobState=[^ ]*' <<<"$line" | cut -d= -f2)
  code=$(grep -o ' ExitCode=[^ ]*' <<<"$line" | cut -d= -f2)
  say "task $id: $state, exit code $code"
  if [ "$state" != COMPLETED ] || [ "$code" != 0:0 ]; then
    bad=1
    log="$tmp/work/task-${job}_$id.log"
    if [ -s "$log" ]; then
      sed "s/^/  task $id log: /" "$log" >&2
    else
      echo "  task $id log: (empty)" >&2
    fi
  fi
done
[ "$bad" = 0 ] || fail "a task of job $job failed"

"$DSIM" sweep-merge "$out" >"$tmp/work/merged.txt" || fail "dsim sweep-merge of the shards failed"
say "merged: $(head -n 1 "$tmp/work/merged.txt")"
"$DSIM" report "$out" >"$tmp/work/report.txt" || fail "dsim report of the shards failed"

# ---------------------------------------------------------------------------------
# 4. The same sweep on one machine, and the comparison.
# ---------------------------------------------------------------------------------
one="$tmp/one/sweep"
"$DSIM" sweep "$SCENARIO" --seeds "$SEEDS" --set "$SET" --jobs 1 --out "$one" \
  >"$tmp/one/sweep.txt" || fail "the single-machine dsim sweep failed"
"$DSIM" sweep-merge "$one" >"$tmp/one/merged.txt" || fail "dsim sweep-merge of the single-machine sweep failed"
"$DSIM" report "$one" >"$tmp/one/report.txt" || fail "dsim report of the single-machine sweep failed"

# Compare two files byte for byte; on a difference, name it: the line and column, and
# both lines around that column.
same() {
  local what=$1 slurm=$2 single=$3 where line col a b from
  if where=$(cmp -- "$slurm" "$single" 2>&1); then
    return 0
  fi
  case $where in
  *EOF*) fail "$what: first difference: one file is shorter ($where)" ;;
  esac
  case $slurm in
  *.png) fail "$what: first difference: $where" ;;
  esac
  line=$(sed -n 's/.* line \([0-9]*\).*/\1/p' <<<"$where")
  a=$(sed -n "${line}p" "$slurm")
  b=$(sed -n "${line}p" "$single")
  col=$(cmp <(printf '%s\n' "$a") <(printf '%s\n' "$b") | sed -n 's/.* byte \([0-9]*\),.*/\1/p' || true)
  from=$((col > 60 ? col - 60 : 1))
  echo "$me: FAIL: $what: first difference at line $line, column $col:" >&2
  echo "  Slurm:          ...${a:from-1:160}..." >&2
  echo "  single machine: ...${b:from-1:160}..." >&2
  exit 1
}

runs=$(wc -l <"$one/runs-0-of-1.jsonl")
same "the manifest (sweep.json)" "$out/sweep.json" "$one/sweep.json"
# The shards' run lines put back in run order (each line starts {"run":N,...).
LC_ALL=C sort -t: -k2,2n "$out"/runs-*-of-"$SHARDS".jsonl >"$tmp/work/runs.jsonl"
same "the run lines in run order (line N is run N-1)" "$tmp/work/runs.jsonl" "$one/runs-0-of-1.jsonl"
same "the merged table (dsim sweep-merge)" "$tmp/work/merged.txt" "$tmp/one/merged.txt"
# The report's files: the same names, then each the same (summary.json first).
report_files() { sed -n 's|^wrote .*/||p' "$1" | sort; }
[ "$(report_files "$tmp/work/report.txt")" = "$(report_files "$tmp/one/report.txt")" ] ||
  fail "the reports wrote different files: $(report_files "$tmp/work/report.txt" | tr '\n' ' ')vs $(report_files "$tmp/one/report.txt" | tr '\n' ' ')"
same "the report's summary.json" "$out/summary.json" "$one/summary.json"
checked="summary.json"
for f in $(report_files "$tmp/one/report.txt"); do
  [ "$f" != summary.json ] || continue
  same "the report's $f" "$out/$f" "$one/$f"
  checked="$checked $f"
done

say "same bytes, Slurm array vs one machine: sweep.json, $runs run lines in run order, the sweep-merge table, report $checked"
say "OK in $((SECONDS - start)) s"
