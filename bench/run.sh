#!/usr/bin/env bash
# The benchmark entry command (README "Performance"): builds release, installs
# ghz and the Python SDKs into the tools cache, runs the limiter bench for a
# fresh quota-protection figure and the limiter under stress, then the gateway
# bench (bench/gateway/), which prints a table and writes
# bench/results/gateway-<unix time>.json.
#
#   bench/run.sh                 # about 9.5 minutes on 2 cores once built
#   HOP_SECONDS=10 bench/run.sh  # longer runs, steadier figures
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/datastudio-gateway/tools}"
GHZ_VERSION=v0.120.0
mkdir -p "$TOOLS/bin"

GHZ="$TOOLS/bin/ghz-$GHZ_VERSION"
if [ ! -x "$GHZ" ]; then
  echo "installing ghz $GHZ_VERSION (go install)"
  GOBIN="$TOOLS/bin/ghz-build" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  mv "$TOOLS/bin/ghz-build/ghz" "$GHZ"
fi

VENV="$TOOLS/bench-venv"
STAMP="$VENV/.requirements-$(cat bench/requirements.txt clients/python/pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "installing the Python SDKs and the gateway's Python client into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt ./clients/python
  touch "$STAMP"
fi

# `cargo bench` builds release (the bench profile) and the gateway binary with it.

BENCH_SECONDS="${LIMITER_SECONDS:-20}" cargo bench --locked --bench limiter
# The limiter under stress: 10x misconfiguration, three Redis replicas at 3x,
# Redis outages under fail_local and fail_closed (five runs side by side, about
# 80 s; STRESS_ARGS="--misconfig-seconds 40 --load-seconds 20 --outage-seconds 5"
# for a shorter run).
# shellcheck disable=SC2086
cargo bench --locked --bench limiter_stress -- ${STRESS_ARGS:-}
# Vendor calls, not time: the gateway against the official SDK doing the same jobs.
cargo bench --locked --bench economy -- --python "$VENV/bin/python"
cargo bench --locked --bench gateway -- \
  --ghz "$GHZ" --ghz-version "$GHZ_VERSION" \
  --python "$VENV/bin/python" \
  --hop-seconds "${HOP_SECONDS:-5}" \
  --throughput-seconds "${THROUGHPUT_SECONDS:-10}" \
  --python-seconds "${PYTHON_SECONDS:-5}"
