#!/usr/bin/env bash
# The user-crate example, end to end, as a user would drive it: its own tests (which use
# dsim's harness: golden trace, fault plans, explore), then its `own-sim` binary (the
# dsim command line with the leader lease registered) through run, run --all over the
# scenario folder, verify, explore, a sweep in two shards, sweep-merge, report and a
# short live run over loopback UDP.
# Called by scripts/test.sh (the README's test command). Exits non-zero on the first
# failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
# Share the workspace's build directory, so dsim's crates are built once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/../../target}"
cargo test --manifest-path Cargo.toml
# A debug build: the tests above built everything it needs.
cargo build --manifest-path Cargo.toml
own_sim="$CARGO_TARGET_DIR/debug/own-sim"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

step() { echo "== own-sim $*" >&2; }
expect() { # expect CODE COMMAND...
  local want="$1"; shift
  local got=0
  "$@" >"$out/stdout" 2>"$out/stderr" || got=$?
  if [ "$got" != "$want" ]; then
    echo "check.sh: '$*' exited $got, expected $want" >&2
    cat "$out/stdout" "$out/stderr" >&2
    exit 1
  fi
}

step run lease.ron --json
expect 0 "$own_sim" run scenarios/lease.ron --json --trace "$out/lease.trace.jsonl"
grep -q '"scenario":"lease"' "$out/stdout"
grep -q '"violations":\[\]' "$out/stdout"

step run --all --dir scenarios
expect 0 "$own_sim" run --all --dir scenarios
[ "$(grep -c '^ok ' "$out/stdout")" = 3 ]

step verify
expect 0 "$own_sim" verify "$out/lease.trace.jsonl"
grep -q '^ok: ' "$out/stdout"

step explore lease-ring.ron
expect 0 "$own_sim" explore scenarios/lease-ring.ron --runs 200 --jobs 2 --out "$out/explore"
grep -q 'no violation in 200 runs' "$out/stdout"

step "explore with the guard and margin removed (a broken lease)"
expect 1 "$own_sim" explore scenarios/lease.ron --runs 1000 --out "$out/broken" \
  --set 'params.guard="0s"' --set 'params.drift_margin="0s"' --set explore.max_ppm=500000.0 \
  --set 'explore.max_length="15s"' --set 'explore.kinds=[ClockDrift, Isolation]'
grep -q 'violation of one_leader_at_a_time' "$out/stdout"
counterexample="$(tail -1 "$out/stdout")"
expect 1 "$own_sim" run "$counterexample"

step sweep --shard 0/2 and 1/2, sweep-merge, report
for shard in 0/2 1/2; do
  expect 0 "$own_sim" sweep scenarios/lease-ring.ron --seeds 1..3 \
    --set 'params.lease="1s","2s"' --shard "$shard" --out "$out/sweep"
done
expect 0 "$own_sim" sweep-merge "$out/sweep" --json
grep -q '"runs":6' "$out/stdout"
expect 0 "$own_sim" report "$out/sweep"
[ -s "$out/sweep/report.html" ]

step report of a run and of a trace
expect 0 "$own_sim" run scenarios/lease-ring.ron --report "$out/run"
expect 0 "$own_sim" report "$out/run"
[ -s "$out/run/report.html" ]

step "live lease.ron for 2 s on loopback (its clock drift at 40 s is past the end)"
expect 0 "$own_sim" live scenarios/lease.ron --for 2s --json
grep -q '"live.datagrams_received":[1-9]' "$out/stdout"
grep -q '"leaders_at_end":1' "$out/stdout"

step list
expect 0 "$own_sim" list
grep -q 'leader-lease' "$out/stdout"
expect 0 "$own_sim" bench system leader-lease --size 9 --until 5s
grep -q '"events_per_s"' "$out/stdout"

echo "own-system: every check passed" >&2
