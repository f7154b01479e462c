#!/usr/bin/env bash
# Counts the gateway's user-space instructions per call of each bench read under callgrind:
# deterministic (within 1 %), where CPU time on shared cores moves by 15-30 % between runs.
# Installs valgrind (Debian) when missing.
#
#   bench/instructions.sh [CALLS]      # default 100 calls of each read
# Prints the counts; keeps bench/results/callgrind-<read>.out for callgrind_annotate (build
# with CARGO_PROFILE_RELEASE_STRIP=false for function names).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-package.sh callgrind_control valgrind
mkdir -p bench/results
# The driver's own client makes the calls, one at a time.
cargo bench --locked --bench gateway -- --starts 1 --instructions "${1:-100}"
