#!/usr/bin/env bash
# Profiles the gateway under load: perf samples its stacks while ghz offers
# 400 rps, inferno draws the flamegraph. Installs linux-perf (Debian) and
# inferno (crates.io) when missing.
#
#   bench/profile.sh                   # DataWorks ListReleasePackages, page of 100
#   bench/profile.sh huawei-list       # or alibaba-file-version
# Writes bench/results/flamegraph-<case>.svg (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
CASE="${1:-alibaba-list}"
TOOLS="${TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/datastudio-gateway/tools}"
GHZ_VERSION=v0.120.0
INFERNO_VERSION=0.12.8
export PATH="$TOOLS/bin:$PATH"
mkdir -p "$TOOLS/bin"

if ! command -v perf >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
fi
if ! command -v inferno-flamegraph >/dev/null; then
  cargo install --locked --root "$TOOLS" "inferno@$INFERNO_VERSION"
fi
GHZ="$TOOLS/bin/ghz-$GHZ_VERSION"
if [ ! -x "$GHZ" ]; then
  GOBIN="$TOOLS/bin/ghz-build" go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  mv "$TOOLS/bin/ghz-build/ghz" "$GHZ"
fi

# `cargo bench` builds release (the bench profile) and the gateway binary with it.
mkdir -p bench/results
cargo bench --locked --bench gateway -- --starts 1 \
  --ghz "$GHZ" \
  --flamegraph "bench/results/flamegraph-$CASE.svg" --profile-case "$CASE"
