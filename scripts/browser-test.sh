#!/usr/bin/env bash
# The TypeScript client in a real browser, as `make browser-test` (part of `make test`):
#   1. installs Chromium from the distribution's packages when it is missing
#      (apt-get, non-interactive; needs root), the client package's npm packages and
#      the page's (clients/typescript/browser-test/package-lock.json: esbuild,
#      puppeteer-core, and the client package itself linked from the folder above;
#      puppeteer-core downloads no browser)
#   2. type-checks clients/typescript/browser-test/page.ts for the browser (DOM, no
#      Node types) and bundles it with esbuild --platform=browser: the package's
#      browser entry, datastudio-gateway-client/web (gRPC-Web), imported as a
#      consumer would from the checked-in dist/src
#   3. starts a demo gateway on loopback (ephemeral ports) and opens the page in
#      headless Chromium on the origin http://localhost:5173, which the demo allows
#      (server.cors_allowed_origins): the page lists release packages cross-origin
#      and reads an INVALID_ARGUMENT with its BadRequest and ErrorInfo details
# Builds the gateway (cargo build; honours CARGO_TARGET_DIR) unless
# DATASTUDIO_GATEWAY_BIN names a binary; CHROMIUM names another browser binary.
# Non-interactive; about half a minute once the packages are installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/clients-tools.sh"
cd "$CLIENTS_ROOT"
export CI="${CI:-true}"
PAGE_DIR=clients/typescript/browser-test

WORK="$(mktemp -d)"
GATEWAY_PID=""
stop_gateway() {
  if [[ -n "$GATEWAY_PID" ]] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill -TERM "$GATEWAY_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
}
trap 'stop_gateway; rm -rf "$WORK"' EXIT

log() { echo "browser: $*"; }

# --- the browser ---------------------------------------------------------------
if [[ -z "${CHROMIUM:-}" ]]; then
  bash scripts/install-debian-package.sh chromium chromium
  CHROMIUM="$(command -v chromium)"
fi
log "$("$CHROMIUM" --version 2>/dev/null | head -n 1)"

# --- the page ------------------------------------------------------------------
ensure_ts_deps   # the linked package's own dependencies (@connectrpc/connect-web, …) and tsc
(cd "$PAGE_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --prefer-offline \
  --loglevel=error </dev/null >/dev/null)
clients/typescript/node_modules/.bin/tsc -p "$PAGE_DIR/tsconfig.json"
"$PAGE_DIR/node_modules/.bin/esbuild" "$PAGE_DIR/page.ts" --bundle --platform=browser --format=iife \
  --target=es2022 --log-level=warning --outfile="$WORK/page.js"

# --- the gateway ---------------------------------------------------------------
BIN="$(gateway_bin "$WORK")"
start_demo "$BIN" "$WORK/demo.log"
[[ -n "$ADDR" ]] || { log "the demo gateway did not become ready:"; tail -n 40 "$WORK/demo.log"; exit 1; }
log "demo gateway at $ADDR"

# --- the test ------------------------------------------------------------------
(cd "$PAGE_DIR" && timeout 120 node run.mjs "$ADDR" "$CHROMIUM" "$WORK/page.js" </dev/null)
