#!/usr/bin/env bash
# Tests the client stubs end to end, as `make clients-test` (part of `make test`):
#   1. installs what is missing (buf, Go plugins, a Python venv, npm packages;
#      Maven resolves its own) into the tools cache outside the clone
#   2. builds the gateway (cargo build; honours CARGO_TARGET_DIR) unless
#      DATASTUDIO_GATEWAY_BIN names a binary to use
#   3. starts ONE demo gateway on loopback with ephemeral ports and reads its
#      address from the ready line
#   4. runs the Go, Python, Java and TypeScript suites against it, each from a
#      clean build (go test -count=1, a fresh install of the Python package,
#      mvn clean verify, a fresh tsc build)
#   5. stops the gateway, checks the checked-in generated code is fresh
#      (scripts/gen-clients.sh --check), runs buf lint and buf breaking against
#      proto/baseline/datastudio-v1.binpb
# Ends with `clients: N passed, M failed` and exits non-zero if anything failed.
# Non-interactive; run from anywhere. DATASTUDIO_WORKSPACE picks another
# workspace of the demo (default demo-dataworks).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/clients-tools.sh"
cd "$CLIENTS_ROOT"
export CI="${CI:-true}"
START=$SECONDS

WORK="$(mktemp -d)"
GATEWAY_PID=""
stop_gateway() {
  if [[ -n "$GATEWAY_PID" ]] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill -TERM "$GATEWAY_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
  GATEWAY_PID=""
}
trap 'stop_gateway; rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
FAILURES=()
pass() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$1"; }
fail() {
  FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf '  FAIL %s\n' "$1"
  if [[ -n "${2:-}" && -s "$2" ]]; then tail -n 60 "$2" | awk '{print "       | " $0}'; fi
}
# suite NAME COUNT_FN CMD...: runs CMD with output to a log; passes when it
# exits 0 and COUNT_FN (reading the log) finds at least one test that ran and
# none skipped. COUNT_FN prints "RAN SKIPPED".
suite() {
  local name=$1 count_fn=$2; shift 2
  local log="$WORK/$name.log" t0=$SECONDS
  if "$@" </dev/null >"$log" 2>&1; then
    local ran skipped
    read -r ran skipped < <("$count_fn" "$log")
    if ((ran > 0 && skipped == 0)); then
      pass "$name: $ran tests ($((SECONDS - t0)) s)"
    else
      fail "$name: $ran tests ran, $skipped skipped" "$log"
    fi
  else
    fail "$name ($((SECONDS - t0)) s)" "$log"
  fi
}
check() {
  local name=$1; shift
  local log="$WORK/check.$((PASSED + FAILED)).log"
  if "$@" </dev/null >"$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi
}

echo "clients: installing tools"
ensure_buf
ensure_go_plugins
ensure_venv
ensure_ts_deps
export DATASTUDIO_CLIENT_TOOLS_READY=1   # gen-clients.sh --check needs no second install

# --- the gateway -------------------------------------------------------------
if [[ -n "${DATASTUDIO_GATEWAY_BIN:-}" ]]; then
  BIN="$DATASTUDIO_GATEWAY_BIN"
else
  echo "clients: building the gateway (cargo build)"
  cargo build --locked --bin datastudio-gateway </dev/null >"$WORK/cargo.log" 2>&1 || {
    tail -n 40 "$WORK/cargo.log"; echo "clients: 0 passed, 1 failed"; exit 1; }
  TARGET_DIR="${CARGO_TARGET_DIR:-target}"
  [[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$CLIENTS_ROOT/$TARGET_DIR"
  # A private copy: other checkouts may share the target dir and rebuild it.
  cp "$TARGET_DIR/debug/datastudio-gateway" "$WORK/datastudio-gateway"
  BIN="$WORK/datastudio-gateway"
fi

echo "clients: starting a demo gateway"
"$BIN" demo --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 </dev/null >"$WORK/demo.log" 2>&1 &
GATEWAY_PID=$!
ADDR=""
for _ in $(seq 600); do
  ADDR="$(sed -n 's/^datastudio-gateway demo ready: grpc=\([^ ]*\) .*/\1/p' "$WORK/demo.log" | head -n 1)"
  [[ -n "$ADDR" ]] && break
  kill -0 "$GATEWAY_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ADDR" ]]; then
  echo "clients: the demo gateway did not become ready:"
  tail -n 40 "$WORK/demo.log" | awk '{print "       | " $0}'
  echo "clients: 0 passed, 1 failed"
  exit 1
fi
echo "clients: demo gateway at $ADDR"
export DATASTUDIO_GATEWAY_ADDR="$ADDR" DATASTUDIO_GATEWAY_REQUIRED=1

# --- the four suites -----------------------------------------------------------
# Each prints "RAN SKIPPED" for a suite's log (awk: never fails on no match).
count_go() { awk '/^--- PASS/{r++} /^--- SKIP/{s++} END{print r+0, s+0}' "$1"; }
count_pytest() {
  awk 'match($0, /[0-9]+ passed/){r=substr($0, RSTART, RLENGTH)+0}
       match($0, /[0-9]+ skipped/){s=substr($0, RSTART, RLENGTH)+0} END{print r+0, s+0}' "$1"
}
count_surefire() {
  awk 'match($0, /Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$/){
         split(substr($0, RSTART, RLENGTH), f, /[:,] */); r=f[2]-f[8]; s=f[8]} END{print r+0, s+0}' "$1"
}
count_node() { awk '/^# pass /{r=$3} /^# skipped /{s=$3} END{print r+0, s+0}' "$1"; }

go_suite() { (cd clients/go && go vet ./... && go test -count=1 -v ./...); }
python_suite() {
  # Install the package as a consumer would, from a copy (no build output in
  # the clone), then test the installed package.
  cp -r clients/python "$WORK/python-src"
  "$CLIENTS_VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    --no-build-isolation "$WORK/python-src"
  "$CLIENTS_VENV/bin/pip" check
  (cd clients/python && "$CLIENTS_VENV/bin/python" -m pytest -p no:cacheprovider -q -rs tests)
}
# The oldest Python the package claims must have wheels of its pinned floors on PyPI.
python_floor() {
  local floor deps
  floor="$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' clients/python/pyproject.toml)"
  deps="$(python3 -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' clients/python/pyproject.toml |
    sed -E 's/>=([^,]+).*/==\1/')"
  echo "requires-python >= $floor; floors: $(echo $deps)"
  [[ -n "$floor" ]] && rm -rf "$WORK/py-floor" &&
    "$CLIENTS_VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --python-version "$floor" --platform manylinux2014_x86_64 --implementation cp -d "$WORK/py-floor" $deps
}
java_suite() { mvn -B -ntp -Dstyle.color=never -f clients/java/pom.xml clean verify; }
typescript_suite() {
  (cd clients/typescript && rm -rf dist && ./node_modules/.bin/tsc -p tsconfig.json &&
    node --test dist/test/gateway.test.js)
}
# The compiled package (dist/src) is checked in, so consumers install it without a build step:
# it must be what tsc makes of src/ now, and install with its runtime dependencies alone, from
# a tarball (npm pack) and from a path (--install-links).
typescript_dist_fresh() {
  git diff --exit-code --stat -- clients/typescript/dist/src &&
    [[ -z "$(git status --porcelain --untracked-files=all -- clients/typescript/dist/src)" ]]
}
typescript_consumer() {
  local dir="$WORK/ts-consumer" copy="$WORK/ts-copy"
  rm -rf "$dir" "$copy" && mkdir -p "$dir/tarball" "$dir/path"
  cp -r clients/typescript "$copy" && rm -rf "$copy/node_modules" "$copy/dist/test"
  (cd "$copy" && npm pack --silent --pack-destination "$dir") >/dev/null
  local import='import("datastudio-gateway-client").then(m => { if (typeof m.createGatewayClients !== "function") process.exit(1); })'
  (cd "$dir/tarball" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --omit=dev "$dir"/datastudio-gateway-client-*.tgz &&
    node --input-type=module -e "$import") &&
  (cd "$dir/path" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --omit=dev --install-links "$copy" &&
    node --input-type=module -e "$import")
}

echo "clients: running the language suites against $ADDR"
suite go count_go go_suite
suite python count_pytest python_suite
suite java count_surefire java_suite
suite typescript count_node typescript_suite
check "the checked-in TypeScript build (dist/src) is fresh" typescript_dist_fresh
check "the TypeScript package installs without a build step (tarball, path)" typescript_consumer
check "the Python client's requires-python can install its dependencies" python_floor

if kill -0 "$GATEWAY_PID" 2>/dev/null; then
  stop_gateway
else
  fail "the demo gateway exited during the tests" "$WORK/demo.log"
fi

# --- generated code and API compatibility ---------------------------------------
check "generated client code is fresh (scripts/gen-clients.sh --check)" scripts/gen-clients.sh --check
check "buf lint" "$BUF" lint
check "buf breaking against proto/baseline/datastudio-v1.binpb" \
  "$BUF" breaking --against proto/baseline/datastudio-v1.binpb

echo "clients: finished in $((SECONDS - START)) s"
if ((FAILED)); then printf 'clients: failed: %s\n' "${FAILURES[@]}"; fi
echo "clients: $PASSED passed, $FAILED failed"
((FAILED == 0))
