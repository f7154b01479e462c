#!/usr/bin/env bash
# Runs the demo on ephemeral loopback ports and executes every grpcurl and
# curl command it prints (HTTP/JSON: lists, a deploy followed to its end),
# exactly as printed: the README's first command must show a working gateway.
# Installs grpcurl (pinned) through the Go module proxy when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
GRPCURL_VERSION=v1.9.3
export PATH="$(go env GOPATH)/bin:$PATH"
if ! command -v grpcurl >/dev/null 2>&1; then
  echo "installing grpcurl $GRPCURL_VERSION"
  GOFLAGS=-mod=mod go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
fi
cargo build --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/datastudio-gateway"
work="$(mktemp -d)"
cp "$bin" "$work/gateway"
out="$work/demo.out"
"$work/gateway" demo --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$out" 2>"$work/demo.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q "^Stop with Ctrl-C" "$out" && break
  sleep 0.1
done
grep -q "^Stop with Ctrl-C" "$out" || { echo "demo did not start"; cat "$out" "$work/demo.err"; exit 1; }
passed=0
failed=0
while IFS= read -r cmd; do
  # A followed deployment must reach SUCCEEDED.
  if resp=$(eval "$cmd" 2>&1) && [ -n "$resp" ] &&
    { [[ "$cmd" != *:watch* ]] || [[ "$(echo "$resp" | tail -n 1)" == *DEPLOYMENT_STATE_SUCCEEDED* ]]; }; then
    passed=$((passed + 1))
    echo "  ok   $cmd"
  else
    failed=$((failed + 1))
    echo "  FAIL $cmd"
    echo "$resp" | head -20
  fi
done < <(grep -E '^  (grpcurl|curl|name=\$\(curl) ' "$out" | sed 's/^  //')
[ "$(grep -cE '^  grpcurl ' "$out")" -ge 3 ] || { echo "the demo printed fewer than 3 grpcurl commands"; failed=$((failed + 1)); }
[ "$(grep -cE '^  (curl|name=\$\(curl) ' "$out")" -ge 3 ] || { echo "the demo printed fewer than 3 curl commands"; failed=$((failed + 1)); }
echo "demo-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
