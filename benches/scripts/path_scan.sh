#!/usr/bin/env bash
# PHOLD side by side from 17 program paths (24 to 88 characters long; see
# program_paths.sh for why).
#
#   cargo build --release -p benches --example phold_compare
#   benches/scripts/path_scan.sh target/release/examples/phold_compare 10000 10000000
#
# Prints dsim / simcore and dsim / bare-heap (the issue-21 BinaryHeap loop) for each
# path, sorted, and their medians. The three run in one process per path, in that
# order; path_pair.sh runs each in a process of its own.
set -euo pipefail
source "$(dirname "$0")/program_paths.sh"
bin=$(realpath "$1")
lps=${2:-10000}
events=${3:-10000000}
ratios=()
heap_ratios=()
one_path() { # binary
  local out
  out=$("$1" --lps "$lps" --events "$events" --runs 1 --impls dsim,simcore,bare-heap | grep '"median"')
  rate() { echo "$out" | grep "\"impl\":\"$1\"" | sed 's/.*"events_per_s":\([0-9]*\).*/\1/'; }
  ratios+=("$(awk -v d="$(rate dsim)" -v s="$(rate simcore)" 'BEGIN { printf "%.3f", d / s }')")
  heap_ratios+=("$(awk -v d="$(rate dsim)" -v s="$(rate bare-heap)" 'BEGIN { printf "%.3f", d / s }')")
}
from_paths one_path "$bin"
summary "dsim / simcore" "${ratios[@]}"
summary "dsim / bare-heap" "${heap_ratios[@]}"
