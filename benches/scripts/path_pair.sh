#!/usr/bin/env bash
# One PHOLD implementation against another, from 17 program paths (see
# program_paths.sh), each run in a process of its own: A, then B, then A again, per
# path; the rate ratio A/B of a path takes the mean of A's two runs.
#
#   cargo build --release -p benches --example phold_compare
#   bin=target/release/examples/phold_compare
#   benches/scripts/path_pair.sh "$bin" dsim "$bin" bare-heap          # two loops
#   benches/scripts/path_pair.sh "$bin" dsim /tmp/phold_compare-old dsim  # two builds
#
# Optional: LPS (default 10000) and EVENTS (default 5000000) after the four arguments.
set -euo pipefail
source "$(dirname "$0")/program_paths.sh"
bin_a=$(realpath "$1")
impl_a=$2
bin_b=$(realpath "$3")
impl_b=$4
lps=${5:-10000}
events=${6:-5000000}

rate() { # binary impl
  "$1" --lps "$lps" --events "$events" --runs 1 --impls "$2" |
    grep '"median"' | sed 's/.*"events_per_s":\([0-9]*\).*/\1/'
}

ratios=()
one_path() { # copy of A, copy of B
  local first other again
  first=$(rate "$1" "$impl_a")
  other=$(rate "$2" "$impl_b")
  again=$(rate "$1" "$impl_a")
  ratios+=("$(awk -v a="$first" -v b="$other" -v c="$again" 'BEGIN { printf "%.3f", (a + c) / 2 / b }')")
}
from_paths one_path "$bin_a" "$bin_b"
summary "$impl_a / $impl_b" "${ratios[@]}"
