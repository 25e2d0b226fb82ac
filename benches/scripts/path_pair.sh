#!/usr/bin/env bash
# One PHOLD implementation against another, from 17 program paths, each in a process of
# its own: A, then B, then A again, per path; the rate ratio A/B of a path takes the
# mean of A's two runs. The median over paths is the figure to quote (see path_scan.sh
# for why one path is not enough).
#
#   cargo build --release -p benches --example phold_compare
#   bin=target/release/examples/phold_compare
#   benches/scripts/path_pair.sh "$bin" dsim "$bin" bare-heap          # two loops
#   benches/scripts/path_pair.sh "$bin" dsim /tmp/phold_compare-old dsim  # two builds
#
# Optional: LPS (default 10000) and EVENTS (default 5000000) after the four arguments.
set -euo pipefail
bin_a=$(realpath "$1")
impl_a=$2
bin_b=$(realpath "$3")
impl_b=$4
lps=${5:-10000}
events=${6:-5000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

rate() { # binary impl
  "$1" --lps "$lps" --events "$events" --runs 1 --impls "$2" |
    grep '"median"' | sed 's/.*"events_per_s":\([0-9]*\).*/\1/'
}

ratios=()
for length in $(seq 24 4 88); do
  # "$dir/" + padding + "/a" must be `length` characters long.
  pad=$((length - ${#dir} - 3))
  [ "$pad" -ge 1 ] || continue
  sub="$dir/$(head -c "$pad" /dev/zero | tr '\0' d)"
  mkdir -p "$sub"
  cp "$bin_a" "$sub/a"
  cp "$bin_b" "$sub/b"
  first=$(rate "$sub/a" "$impl_a")
  other=$(rate "$sub/b" "$impl_b")
  again=$(rate "$sub/a" "$impl_a")
  ratios+=("$(awk -v a="$first" -v b="$other" -v c="$again" 'BEGIN { printf "%.3f", (a + c) / 2 / b }')")
  rm -rf "$sub"
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -n)
echo "$impl_a / $impl_b by path, sorted: $(echo "$sorted" | tr '\n' ' ')"
echo "median: $(echo "$sorted" | sed -n "$(((${#ratios[@]} + 1) / 2))p")"
