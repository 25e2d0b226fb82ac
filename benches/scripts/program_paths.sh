# Sourced by path_scan.sh and path_pair.sh: the program paths they run from, and how
# they summarise a ratio per path.
#
# Where the allocator puts the event queue's slab follows from the length of the
# program's path (argv[0] is allocated first), and before slots were aligned that moved
# dsim by 12 % at 10,000 LPs. One figure from one path can be lucky; quote the median
# over these paths.

# from_paths FUNC BIN...: copy the binaries into 17 directories whose copies' paths are
# 24 to 88 characters long, and call FUNC with the copies' paths, once per directory.
from_paths() {
  local fn=$1
  shift
  local dir
  dir=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: `dir` is local
  trap "rm -rf '$dir'" EXIT
  for length in $(seq 24 4 88); do
    # "$dir/" + padding + "/0" must be `length` characters long.
    local pad=$((length - ${#dir} - 3))
    [ "$pad" -ge 1 ] || continue
    local sub
    sub="$dir/$(head -c "$pad" /dev/zero | tr '\0' d)"
    mkdir -p "$sub"
    local copies=() i=0
    for bin in "$@"; do
      cp "$bin" "$sub/$i"
      copies+=("$sub/$i")
      i=$((i + 1))
    done
    "$fn" "${copies[@]}"
    rm -rf "$sub"
  done
  rm -rf "$dir"
}

# summary NAME RATIO...: the ratios sorted, and their median.
summary() {
  local name=$1
  shift
  local sorted
  sorted=$(printf '%s\n' "$@" | sort -n)
  echo "$name by path, sorted: $(echo "$sorted" | tr '\n' ' ')"
  echo "median: $(echo "$sorted" | sed -n "$((($# + 1) / 2))p")"
}
