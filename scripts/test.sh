#!/usr/bin/env bash
# The README's test command: everything the tests need, found or installed, then the
# tests. On a fresh Debian machine with only the Rust toolchain this is all it takes.
#
# - The HTML report's browser test (scenarios/tests/report_browser.rs) needs a headless
#   Chromium: $DSIM_CHROMIUM, or one on the PATH, or Debian's chromium-headless-shell,
#   installed here with apt-get (as root, or through sudo).
# - The workspace's tests (`cargo test --workspace`), and in release the comparison
#   of incremental invariants with full scans.
# - The user-crate example (examples/own-system, a cargo project of its own that
#   depends on dsim by path): its tests, and its `own-sim` binary driven through run,
#   explore, sweep in two shards, sweep-merge, report and verify.
set -euo pipefail
cd "$(dirname "$0")/.."

find_chromium() {
  if [ -n "${DSIM_CHROMIUM:-}" ]; then
    return 0
  fi
  local name
  for name in chromium-headless-shell chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null; then
      return 0
    fi
  done
  return 1
}

if ! find_chromium; then
  echo "scripts/test.sh: no headless Chromium found; installing Debian's chromium-headless-shell" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
      echo "scripts/test.sh: not root and no sudo: install chromium-headless-shell, or set DSIM_CHROMIUM" >&2
      exit 1
    }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium-headless-shell fonts-dejavu-core
  find_chromium || {
    echo "scripts/test.sh: chromium-headless-shell did not install" >&2
    exit 1
  }
fi

cargo test --workspace
# Incremental invariants against full scans: minutes unoptimised, seconds in release.
cargo test --release -p scenarios --test incremental_checks -- --include-ignored
bash examples/own-system/check.sh
