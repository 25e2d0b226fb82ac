#!/usr/bin/env bash
# PHOLD side by side from 17 program paths (24 to 88 characters long): where the
# allocator puts the event queue's slab follows from the length of the program's path
# (argv[0] is allocated first), and before slots were aligned that moved dsim by 12 % at
# 10,000 LPs. One figure from one path can be lucky; quote the median of these.
#
#   cargo build --release -p benches --example phold_compare
#   benches/scripts/path_scan.sh target/release/examples/phold_compare 10000 10000000
#
# Prints dsim / simcore and dsim / bare-heap (the issue-21 BinaryHeap loop) for each
# path, sorted, and their medians.
set -euo pipefail
bin=$(realpath "$1")
lps=${2:-10000}
events=${3:-10000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ratios=()
heap_ratios=()
for length in $(seq 24 4 88); do
  # "$dir/" + padding + "/p" must be `length` characters long.
  pad=$((length - ${#dir} - 3))
  [ "$pad" -ge 1 ] || continue
  sub="$dir/$(head -c "$pad" /dev/zero | tr '\0' d)"
  mkdir -p "$sub"
  cp "$bin" "$sub/p"
  out=$("$sub/p" --lps "$lps" --events "$events" --runs 1 --impls dsim,simcore,bare-heap | grep '"median"')
  rate() { echo "$out" | grep "\"impl\":\"$1\"" | sed 's/.*"events_per_s":\([0-9]*\).*/\1/'; }
  ratios+=("$(awk -v d="$(rate dsim)" -v s="$(rate simcore)" 'BEGIN { printf "%.3f", d / s }')")
  heap_ratios+=("$(awk -v d="$(rate dsim)" -v s="$(rate bare-heap)" 'BEGIN { printf "%.3f", d / s }')")
  rm -rf "$sub"
done
summary() {
  local name=$1
  shift
  local sorted
  sorted=$(printf '%s\n' "$@" | sort -n)
  echo "dsim / $name by path, sorted: $(echo "$sorted" | tr '\n' ' ')"
  echo "median: $(echo "$sorted" | sed -n "$(( ($# + 1) / 2 ))p")"
}
summary simcore "${ratios[@]}"
summary bare-heap "${heap_ratios[@]}"
