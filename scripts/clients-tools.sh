# Sourced by scripts/gen-clients.sh, scripts/clients-test.sh and scripts/browser-test.sh: the pinned
# code generators and test tools of the client stubs, and functions that
# install whichever are missing from the package registries into a cache
# outside the clone. Nothing here needs a system protoc.
#
# Pins (change them here, then run scripts/gen-clients.sh and commit the diff):
#   buf                 npm @bufbuild/buf           (same pin as the Makefile)
#   protoc-gen-go       google.golang.org/protobuf  (the version in clients/go/go.mod)
#   protoc-gen-go-grpc  google.golang.org/grpc/cmd/protoc-gen-go-grpc
#   grpcio-tools & co   clients/python/requirements-dev.txt
#   protoc-gen-es & co  clients/typescript/package.json + package-lock.json
#   protoc, grpc-java   clients/java/pom.xml (Maven resolves them)

BUF_VERSION="${BUF_VERSION:-1.75.0}"
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

CLIENTS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/datastudio-gateway/tools}"
CLIENTS_VENV="$TOOLS/venv-clients"
BUF="$TOOLS/node_modules/.bin/buf"
GO_TOOLS_BIN="$TOOLS/go/bin"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

log() { printf '%s\n' "$*" >&2; }

ensure_buf() {
  if [[ -x "$BUF" ]] && [[ "$("$BUF" --version 2>/dev/null)" == "$BUF_VERSION" ]]; then return; fi
  log "installing buf $BUF_VERSION into $TOOLS"
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent "@bufbuild/buf@$BUF_VERSION" >&2)
}

# The Go plugins, with `go install` at pinned versions. protoc-gen-go follows
# the google.golang.org/protobuf version the Go client's go.mod requires, so
# generated code and runtime never drift apart.
ensure_go_plugins() {
  local gen_go_version
  gen_go_version="$(cd "$CLIENTS_ROOT/clients/go" && go list -m -f '{{.Version}}' google.golang.org/protobuf)"
  mkdir -p "$GO_TOOLS_BIN"
  if [[ "$("$GO_TOOLS_BIN/protoc-gen-go" --version 2>/dev/null)" != "protoc-gen-go $gen_go_version" ]]; then
    log "installing protoc-gen-go $gen_go_version"
    GOBIN="$GO_TOOLS_BIN" GOFLAGS=-buildvcs=false go install "google.golang.org/protobuf/cmd/protoc-gen-go@$gen_go_version"
  fi
  if [[ "$("$GO_TOOLS_BIN/protoc-gen-go-grpc" --version 2>/dev/null)" != "protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION#v}" ]]; then
    log "installing protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION"
    GOBIN="$GO_TOOLS_BIN" GOFLAGS=-buildvcs=false go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  fi
}

# A venv with grpcio-tools (bundles protoc and the Python gRPC plugin),
# pytest and the client's runtime dependencies, rebuilt when the pins change.
ensure_venv() {
  local req="$CLIENTS_ROOT/clients/python/requirements-dev.txt" stamp want
  stamp="$CLIENTS_VENV/.requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x "$CLIENTS_VENV/bin/python" ]] && [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then return; fi
  local py="${PYTHON:-}"
  if [[ -z "$py" ]]; then
    for c in python3.11 python3.12 python3.13 python3; do
      if command -v "$c" >/dev/null; then py="$c"; break; fi
    done
  fi
  log "creating $CLIENTS_VENV with $("$py" --version)"
  rm -rf "$CLIENTS_VENV"
  "$py" -m venv "$CLIENTS_VENV"
  "$CLIENTS_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" >"$stamp"
}

# The TypeScript client's dev dependencies (protoc-gen-es, typescript), exactly
# as its package-lock.json pins them. `npm ci` starts from an empty
# node_modules every time; npm's cache makes a warm run quick.
ensure_ts_deps() {
  (cd "$CLIENTS_ROOT/clients/typescript" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
}

# The gateway binary the suites run, printed: $DATASTUDIO_GATEWAY_BIN, or a private copy
# (other checkouts may share the target dir and rebuild it) of a fresh `cargo build`
# (honours CARGO_TARGET_DIR). $1: a work directory for the copy and the build log.
gateway_bin() {
  if [[ -n "${DATASTUDIO_GATEWAY_BIN:-}" ]]; then echo "$DATASTUDIO_GATEWAY_BIN"; return; fi
  log "building the gateway (cargo build)" >&2
  cargo build --locked --bin datastudio-gateway </dev/null >"$1/cargo.log" 2>&1 ||
    { tail -n 40 "$1/cargo.log" >&2; return 1; }
  local target="${CARGO_TARGET_DIR:-target}"
  [[ "$target" = /* ]] || target="$CLIENTS_ROOT/$target"
  cp "$target/debug/datastudio-gateway" "$1/datastudio-gateway"
  echo "$1/datastudio-gateway"
}

# Starts `$1 demo` on ephemeral loopback ports, its output in $2, and waits up to a
# minute for it: sets GATEWAY_PID, and ADDR to its gRPC address (empty when it never
# became ready). Call it directly, not in $(...), so the caller can stop and wait for it.
start_demo() {
  "$1" demo --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 </dev/null >"$2" 2>&1 &
  GATEWAY_PID=$!
  ADDR=""
  for _ in $(seq 600); do
    ADDR="$(sed -n 's/^datastudio-gateway demo ready: grpc=\([^ ]*\) .*/\1/p' "$2" | head -n 1)"
    [[ -n "$ADDR" ]] && break
    kill -0 "$GATEWAY_PID" 2>/dev/null || break
    sleep 0.1
  done
}
