#!/usr/bin/env bash
# Events/s of each hosted system with its invariants checked and unchecked, at N and
# 4N, side by side (docs/performance.md, "Checking invariants at scale").
#
#   DSIM=target/release/dsim bash benches/scripts/checking_cost.sh [RUNS]
#
# Prints one markdown row per system and size: events/s unchecked and checked (medians
# of RUNS alternating runs, default 3) and their ratio, then per system the ratio at 4N
# over the ratio at N.
set -euo pipefail
dsim=${DSIM:-target/release/dsim}
runs=${1:-3}

# system, N, 4N, simulated time
cases=(
  "cityos 100 400 60s"
  "widest-path 256 1024 120s"
  "parking 256 1024 300s"
  "ping-pong 256 1024 120s"
  "ott 64 256 20s"
  "image-cloud 64 256 120s"
)

# events/s and events of one run (a liveness violation found at the end still ran
# every event; the checked and unchecked runs must process the same events)
rate() { # system size until flag...
  "$dsim" bench system "$1" --size "$2" --until "$3" "${@:4}" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["events_per_s"], d["events"])'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| system | N | events | unchecked events/s | checked events/s | checked / unchecked |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for c in "${cases[@]}"; do
  read -r name n n4 until <<<"$c"
  ratios=()
  for size in "$n" "$n4"; do
    u=(); k=(); events=0
    for _ in $(seq "$runs"); do
      read -r r events < <(rate "$name" "$size" "$until" --no-invariants)
      u+=("$r")
      read -r r checked < <(rate "$name" "$size" "$until")
      k+=("$r")
      if [ "$checked" != "$events" ]; then
        echo "$name at $size: $checked events checked, $events unchecked (a violation stopped the run?)" >&2
        exit 1
      fi
    done
    um=$(printf '%s\n' "${u[@]}" | median)
    km=$(printf '%s\n' "${k[@]}" | median)
    ratio=$(python3 -c "print(f'{$km/$um:.2f}')")
    ratios+=("$ratio")
    python3 -c "print(f'| $name | $size | {$events:,} | {$um/1e6:.3f} M | {$km/1e6:.3f} M | $ratio |')"
  done
  python3 -c "print(f'| $name | 4N/N | | | | {${ratios[1]}/${ratios[0]}:.2f} |')"
done
