#!/usr/bin/env bash
# Two builds of dsim side by side on every hosted system and on PHOLD, with invariants
# checked (the default of `dsim bench system`): did an engine change slow anything?
#
#   cp target/release/dsim /tmp/dsim-before   # build the old commit first
#   bash benches/scripts/compare_binaries.sh /tmp/dsim-before target/release/dsim [RUNS]
#
# Each case runs RUNS times per binary (default 5), the two in turn, and prints the
# median events/s of each and their ratio (after / before). The two runs of a case must
# agree on the trace hash: an engine change that moves a trace is not a speed-up.
set -euo pipefail
before=$1
after=$2
runs=${3:-5}

# label and arguments of `dsim bench`
cases=(
  "cityos-100|system cityos --size 100 --until 60s"
  "cityos-400|system cityos --size 400 --until 60s"
  "widest-path-1024|system widest-path --size 1024 --until 120s"
  "parking-256|system parking --size 256 --until 300s"
  "ping-pong-1024|system ping-pong --size 1024 --until 120s"
  "ott-64|system ott --size 64 --until 20s"
  "image-cloud-256|system image-cloud --size 256 --until 120s"
  "phold-10000|phold --lps 10000 --events-per-lp 1 --events 5000000"
)

# events/s and trace hash of one run
measure() { # binary args...
  local out
  out=$("$1" bench "${@:2}")
  case "$out" in
  "{"*) python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["events_per_s"], d["trace_hash"])' <<<"$out" ;;
  *) # dsim bench phold prints one line of text
    sed -E 's/.*= ([0-9]+) events\/s \(fingerprint ([0-9a-f]+)\).*/\1 \2/' <<<"$out" ;;
  esac
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| case | before events/s | after events/s | after / before |"
echo "| --- | ---: | ---: | ---: |"
for c in "${cases[@]}"; do
  label=${c%%|*}
  read -r -a args <<<"${c#*|}"
  b=()
  a=()
  for _ in $(seq "$runs"); do
    read -r rb hb < <(measure "$before" "${args[@]}")
    read -r ra ha < <(measure "$after" "${args[@]}")
    if [ "$hb" != "$ha" ]; then
      echo "$label: trace hash $hb before, $ha after" >&2
      exit 1
    fi
    b+=("$rb")
    a+=("$ra")
  done
  mb=$(printf '%s\n' "${b[@]}" | median)
  ma=$(printf '%s\n' "${a[@]}" | median)
  python3 -c "print(f'| $label | {$mb/1e6:.3f} M | {$ma/1e6:.3f} M | {$ma/$mb:.3f} |')"
done
