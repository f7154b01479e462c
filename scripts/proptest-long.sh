#!/usr/bin/env bash
# The property tests (`prop_*`: resource names, page tokens, grpc-timeout,
# percent-encoding and both signers' canonicalisation, config text) with many more cases than
# `make test` runs (proptest's default, 256 each, about a second).
# Usage: bash scripts/proptest-long.sh [CASES]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${1:-${PROPTEST_CASES:-20000}}"
cargo test --locked --lib -- prop_
cargo test --locked --test prop_signers
