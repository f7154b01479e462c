#!/usr/bin/env bash
# Regenerates every checked-in client stub from proto/datastudio/v1:
#   clients/go/datastudio/v1/                 protoc-gen-go + protoc-gen-go-grpc (buf, clients/go/buf.gen.yaml)
#   clients/typescript/src/gen/               protoc-gen-es (buf, clients/typescript/buf.gen.yaml),
#                                             plus google/rpc/error_details for decoding BadRequest
#   clients/python/src/datastudio/            grpcio-tools: *_pb2.py, *_pb2.pyi, *_pb2_grpc.py
#   clients/typescript/dist/src/              tsc of clients/typescript/src (the package ships compiled)
# Java has nothing checked in: its Maven build generates the stubs (clients/java/pom.xml).
#
#   scripts/gen-clients.sh           regenerate in place
#   scripts/gen-clients.sh --check   regenerate into a temporary directory and fail
#                                    (listing the differences) if the checked-in code is stale
#
# Installs missing pinned tools first (see scripts/clients-tools.sh). Non-interactive.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/clients-tools.sh"
cd "$CLIENTS_ROOT"

# The folders this script owns: each is wholly generated and replaced on every run.
GENERATED_DIRS=(clients/go/datastudio/v1 clients/typescript/src/gen clients/python/src/datastudio)

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [[ "${DATASTUDIO_CLIENT_TOOLS_READY:-}" != 1 ]]; then   # set by clients-test.sh, which just did this
  ensure_buf
  ensure_go_plugins
  ensure_venv
  ensure_ts_deps
fi
export PATH="$GO_TOOLS_BIN:$CLIENTS_ROOT/clients/typescript/node_modules/.bin:$PATH"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
OUT="$WORK/out"
mkdir -p "$OUT"

# Go and TypeScript: buf with local plugins.
"$BUF" generate --template clients/go/buf.gen.yaml -o "$OUT"
"$BUF" generate --template clients/typescript/buf.gen.yaml -o "$OUT"

# google.rpc.BadRequest & co for TypeScript, from the .proto files that the
# pinned googleapis-common-protos wheel ships (no other googleapis source is
# reachable); only error_details.proto is generated.
SITE="$("$CLIENTS_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$WORK/googleapis/google/rpc"
cp "$SITE/google/rpc/error_details.proto" "$WORK/googleapis/google/rpc/"
"$BUF" generate "$WORK/googleapis" --template clients/typescript/buf.gen.yaml -o "$OUT"

# Python: grpcio-tools' bundled protoc with its Python, .pyi and gRPC generators.
WKT="$("$CLIENTS_VENV/bin/python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
PY_OUT="$OUT/clients/python/src"
mkdir -p "$PY_OUT"
(cd proto && "$CLIENTS_VENV/bin/python" -m grpc_tools.protoc -I. -I"$WKT" \
  --python_out="$PY_OUT" --pyi_out="$PY_OUT" --grpc_python_out="$PY_OUT" \
  datastudio/v1/*.proto)
# Regular packages, typed (PEP 561).
: >"$PY_OUT/datastudio/__init__.py"
: >"$PY_OUT/datastudio/v1/__init__.py"
: >"$PY_OUT/datastudio/py.typed"

if [[ $mode == check ]]; then
  stale=0
  for d in "${GENERATED_DIRS[@]}"; do
    if ! diff -r -u -x __pycache__ "$d" "$OUT/$d" >"$WORK/diff" 2>&1; then
      stale=1
      echo "stale generated code in $d:" >&2
      head -n 40 "$WORK/diff" >&2
    fi
  done
  if ((stale)); then
    echo "generated client code is stale: run scripts/gen-clients.sh and commit the result" >&2
    exit 1
  fi
  echo "generated client code is up to date (${GENERATED_DIRS[*]})"
else
  for d in "${GENERATED_DIRS[@]}"; do
    rm -rf "$d"
    mkdir -p "$(dirname "$d")"
    cp -r "$OUT/$d" "$d"
  done
  # The TypeScript package ships compiled (dist/src, checked in): rebuild it from the new sources.
  (cd clients/typescript && rm -rf dist && tsc -p tsconfig.json && rm -rf dist/test dist/cookbook)
  echo "regenerated ${GENERATED_DIRS[*]} and clients/typescript/dist/src"
fi
