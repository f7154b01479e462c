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
#   5. runs the caller cookbook (clients/*/cookbook): every recipe of every
#      language, checking what it prints, against the demo gateway, a second
#      demo gateway (round_robin across both, error details) and a gateway
#      with mTLS and JWT bearer tokens over the emulators (certificates and
#      token made with openssl)
#   6. stops the gateways, checks the checked-in generated code is fresh
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
COOKBOOK_PIDS=()   # the cookbook's second demo, emulators and secured gateway
stop_cookbook() {
  local pid
  for pid in "${COOKBOOK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${COOKBOOK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  COOKBOOK_PIDS=()
}
stop_gateway() {
  if [[ -n "$GATEWAY_PID" ]] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill -TERM "$GATEWAY_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$GATEWAY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
  GATEWAY_PID=""
}
trap 'stop_gateway; stop_cookbook; rm -rf "$WORK"' EXIT

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
BIN="$(gateway_bin "$WORK")" || { echo "clients: 0 passed, 1 failed"; exit 1; }

echo "clients: starting a demo gateway"
start_demo "$BIN" "$WORK/demo.log"
if [[ -z "$ADDR" ]]; then
  echo "clients: the demo gateway did not become ready:"
  tail -n 40 "$WORK/demo.log" | awk '{print "       | " $0}'
  echo "clients: 0 passed, 1 failed"
  exit 1
fi
EMULATOR="$(sed -n 's/^DataWorks emulator at \(.*\)$/\1/p' "$WORK/demo.log" | head -n 1)"
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
# ts_pack DIR COPY: the package as published (npm pack of a clean copy at COPY) into DIR.
ts_pack() {
  rm -rf "$1" "$2" && mkdir -p "$1"
  cp -r clients/typescript "$2" &&
    rm -rf "$2/node_modules" "$2/browser-test/node_modules" "$2/dist/test" "$2/dist/cookbook"
  (cd "$2" && npm pack --silent --pack-destination "$1") >/dev/null
}
typescript_consumer() {
  local dir="$WORK/ts-consumer" copy="$WORK/ts-copy"
  ts_pack "$dir" "$copy" && mkdir -p "$dir/tarball" "$dir/path"
  local import='import("datastudio-gateway-client").then(m => { if (typeof m.createGatewayClients !== "function") process.exit(1); })'
  (cd "$dir/tarball" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --omit=dev "$dir"/datastudio-gateway-client-*.tgz &&
    node --input-type=module -e "$import") &&
  (cd "$dir/path" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --omit=dev --install-links "$copy" &&
    node --input-type=module -e "$import")
}

# A browser project installs the tarball and bundles the browser entry (<pkg>/web):
# esbuild --platform=browser fails on any Node built-in, the bundle must hold
# connect-web and not connect-node, and tsc checks the entry's types with the DOM
# library and no Node types.
typescript_consumer_web() (   # a subshell: it changes directory
  local dir="$WORK/ts-web-consumer" bin="$CLIENTS_ROOT/clients/typescript/node_modules/.bin"
  ts_pack "$dir" "$WORK/ts-web-copy" && mkdir -p "$dir/app" && cd "$dir/app" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --omit=dev "$dir"/datastudio-gateway-client-*.tgz || return 1
  cat >page.ts <<'TS'
import { createGatewayClients, fieldViolations, ReleasePackageState } from "datastudio-gateway-client/web";

const { releases } = createGatewayClients("http://localhost:50051");
releases
  .listReleasePackages({ parent: "workspaces/demo-dataworks", pageSize: 3 })
  .then((page) => page.releasePackages.map((p) => `${p.name} ${ReleasePackageState[p.state]}`))
  .catch((e: unknown) => fieldViolations(e).map((v) => v.field))
  .then((lines) => (document.body.textContent = lines.join("\n")));
TS
  cat >tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "ESNext", "moduleResolution": "Bundler",
    "lib": ["ES2022", "DOM"], "types": [], "strict": true, "noEmit": true }, "files": ["page.ts"] }
JSON
  "$bin/tsc" -p tsconfig.json &&
    "$bin/esbuild" page.ts --bundle --platform=browser --format=esm --log-level=warning --outfile=page.js &&
    grep -q '@connectrpc/connect-web/' page.js && ! grep -q 'connect-node' page.js
)

echo "clients: running the language suites against $ADDR"
suite go count_go go_suite
suite python count_pytest python_suite
suite java count_surefire java_suite
suite typescript count_node typescript_suite
check "the checked-in TypeScript build (dist/src) is fresh" typescript_dist_fresh
check "the TypeScript package installs without a build step (tarball, path)" typescript_consumer
check "a browser project bundles the TypeScript package's ./web entry (tarball, esbuild --platform=browser)" \
  typescript_consumer_web
check "the Python client's requires-python can install its dependencies" python_floor

# --- the caller cookbook (clients/*/cookbook) -------------------------------------
# Every recipe of every language runs against real gateways and its output is
# checked: a second demo gateway (round_robin across both; error details),
# and a gateway with mTLS and JWT bearer tokens (serve, over the emulators).
# wait_for FILE SED PID: prints the first match of SED in FILE once it appears.
wait_for() {
  local out=""
  for _ in $(seq 600); do
    out="$(sed -n "$2" "$1" | head -n 1)"
    [[ -n "$out" ]] && break
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "$out"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fault() {   # fault EMULATOR JSON: one fault rule into a DataWorks emulator
  curl -sf -X POST "$1/_emulator/faults" -H 'content-type: application/json' -d "$2" >/dev/null
}
cookbook_setup() {
  "$BIN" demo --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 </dev/null >"$WORK/demo2.log" 2>&1 &
  COOKBOOK_PIDS+=($!)
  ADDR2="$(wait_for "$WORK/demo2.log" 's/^datastudio-gateway demo ready: grpc=\([^ ]*\) admin=\([^ ]*\)$/\1 \2/p' $!)"
  read -r ADDR2 ADMIN2 <<<"$ADDR2"
  ADMIN1="$(sed -n 's/^datastudio-gateway demo ready: grpc=[^ ]* admin=\([^ ]*\)$/\1/p' "$WORK/demo.log")"
  EMULATOR2="$(sed -n 's/^DataWorks emulator at \(.*\)$/\1/p' "$WORK/demo2.log" | head -n 1)"
  [[ -n "$ADDR2" && -n "$EMULATOR2" ]] || { tail -n 20 "$WORK/demo2.log"; return 1; }
  # The secured gateway: a CA, a server certificate for localhost, a client
  # certificate (SPIFFE id), an RSA key whose JWKS the gateway trusts, and a token.
  local d="$WORK/secure" ali
  mkdir -p "$d"
  "$BIN" emulator --alibaba-listen 127.0.0.1:0 --huawei-listen 127.0.0.1:0 </dev/null >"$WORK/emulator.log" 2>&1 &
  COOKBOOK_PIDS+=($!)
  ali="$(wait_for "$WORK/emulator.log" 's/^DataWorks emulator: \([^ ]*\) .*/\1/p' $!)"
  [[ -n "$ali" ]] || { tail -n 20 "$WORK/emulator.log"; return 1; }
  bash scripts/install-debian-package.sh openssl openssl
  (cd "$d" &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=cookbook-ca -keyout ca.key -out ca.crt &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr &&
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out server.crt \
      -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=cookbook-client -keyout client.key -out client.csr &&
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out client.crt \
      -extfile <(printf 'subjectAltName=URI:spiffe://cookbook/client\nextendedKeyUsage=clientAuth\n') &&
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwt.key &&
    printf demo-ak >ak && printf demo-sk >sk && python3 -c 'import uuid; print(uuid.uuid4())' >page_token_key &&
    python3 - <<'PY'
import base64, json, subprocess, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
modulus = subprocess.run(["openssl", "rsa", "-in", "jwt.key", "-noout", "-modulus"], capture_output=True, text=True, check=True).stdout
n = bytes.fromhex(modulus.strip().split("=", 1)[1])
json.dump({"keys": [{"kty": "RSA", "kid": "cookbook", "alg": "RS256", "use": "sig", "n": b64(n), "e": "AQAB"}]}, open("jwks.json", "w"))
head = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "cookbook"}).encode())
body = b64(json.dumps({"iss": "https://issuer.cookbook", "aud": "datastudio-gateway", "sub": "cookbook-bot",
                       "exp": int(time.time()) + 3600}).encode())
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", "jwt.key"], input=f"{head}.{body}".encode(),
                     capture_output=True, check=True).stdout
open("token", "w").write(f"{head}.{body}.{b64(sig)}")
PY
  ) >"$WORK/secure.log" 2>&1 || { tail -n 20 "$WORK/secure.log"; return 1; }
  local port admin
  port="$(free_port)" admin="$(free_port)"
  cat >"$d/config.yaml" <<YAML
server:
  grpc_listen: 127.0.0.1:$port
  admin_listen: 127.0.0.1:$admin
  state_dir: $d/state
  page_token_key: { file: $d/page_token_key }
  tls: { cert_file: $d/server.crt, key_file: $d/server.key, client_ca_file: $d/ca.crt }
auth:
  jwt: { jwks_file: $d/jwks.json, issuer: https://issuer.cookbook, audiences: [datastudio-gateway] }
  policies:
    - { name: cookbook, subjects: [cookbook-bot], workspaces: [demo-dataworks], permissions: [read, deploy] }
workspaces:
  demo-dataworks:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    endpoints: { api: "$ali" }
    credentials: { access_key_id: { file: $d/ak }, access_key_secret: { file: $d/sk } }
YAML
  "$BIN" serve --config "$d/config.yaml" </dev/null >"$WORK/secure-gateway.log" 2>&1 &
  COOKBOOK_PIDS+=($!)
  local pid=$!
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$WORK/secure-gateway.log"; return 1; }
    sleep 0.1
  done
  export DATASTUDIO_SECURE_ADDR="localhost:$port" DATASTUDIO_TLS_CA="$d/ca.crt" \
    DATASTUDIO_TLS_CERT="$d/client.crt" DATASTUDIO_TLS_KEY="$d/client.key" \
    DATASTUDIO_TOKEN="$(cat "$d/token")" DATASTUDIO_SERVICE_CONFIG="$CLIENTS_ROOT/clients/cookbook/service-config.json"
  # Error details: GetFile on the second demo is closed by a daily quota
  # (QuotaFailure, RetryInfo); the first recipe meets the vendor's answer, the
  # others the closure.
  fault "$EMULATOR2" '{"action":"GetFile","fault":{"kind":"daily_quota","retry_after_ms":3600000},"times":1}'
}
# The commands that run each language's cookbook, built once.
cookbook_build() {
  (cd clients/go && go build -o "$WORK/cookbook-go" ./cookbook) &&
    mvn -B -q -ntp -f clients/java/pom.xml dependency:build-classpath -Dmdep.includeScope=test \
      -Dmdep.outputFile="$WORK/java.classpath"
}
cookbook_cmd() {
  case $1 in
    go) echo "$WORK/cookbook-go" ;;
    python) echo "$CLIENTS_VENV/bin/python clients/python/cookbook/cookbook.py" ;;
    java) echo "java -cp clients/java/target/test-classes:clients/java/target/classes:$(cat "$WORK/java.classpath") io.datastudio.gateway.cookbook.Cookbook" ;;
    typescript) echo "node clients/typescript/dist/cookbook/cookbook.js" ;;
  esac
}
# recipe LANG NAME ENV... -- PATTERN...: runs one recipe; passes when it exits 0
# and its output has a line matching each (extended) regular expression.
recipe() {
  local lang=$1 name=$2 log="$WORK/cookbook-$1-$2.log" pattern ok=1; shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  # shellcheck disable=SC2046
  if env "${envs[@]}" $(cookbook_cmd "$lang") "$name" </dev/null >"$log" 2>&1; then
    for pattern in "$@"; do grep -Eq -- "$pattern" "$log" || { ok=0; echo "missing: $pattern" >>"$log"; }; done
  else
    ok=0
  fi
  if ((ok)); then pass "cookbook $lang $name"; else fail "cookbook $lang $name" "$log"; fi
}
handled() {   # handled ADMIN METHOD: calls of METHOD a gateway has answered
  curl -sf "http://$1/metrics" | awk -v m="grpc_method=\"$2\"" 'index($0, m) && /^grpc_server_handled_total/ {n += $NF} END {print n+0}'
}

echo "clients: the caller cookbook"
if cookbook_setup >"$WORK/cookbook-setup.log" 2>&1 && cookbook_build >>"$WORK/cookbook-setup.log" 2>&1; then
  pass "cookbook: a second demo gateway, a gateway with mTLS and bearer tokens"
  file=100020
  for lang in go python java typescript; do
    file=$((file + 1))
    recipe "$lang" deploy DATASTUDIO_GATEWAY_ADDR="$ADDR" DATASTUDIO_DEPLOY_FILE=$file -- \
      '^deploy: repeat with the same request_id -> same deployment$' \
      "^deploy: request_id [0-9a-f-]{36} -> workspaces/demo-dataworks/deployments/" \
      '^watch: (DEPLOYMENT_STATE_)?RUNNING$' '^deploy: finished (DEPLOYMENT_STATE_)?SUCCEEDED$'
    # Three throttled answers: the gateway's own three attempts fail, so the
    # caller sees UNAVAILABLE with RetryInfo and its retry succeeds.
    fault "$EMULATOR" '{"action":"GetFile","fault":{"kind":"throttle","retry_after_ms":100},"times":3}'
    recipe "$lang" retry DATASTUDIO_GATEWAY_ADDR="$ADDR" -- \
      '^retry: attempt 1 (UNAVAILABLE|Unavailable), RetryInfo (1[0-4][0-9]|150) ms, waiting [0-9]+ ms$' \
      '^retry: ok after 2 attempts$'
    if [[ $lang != typescript ]]; then   # Connect has no service config
      # Only gRPC's own retry (honouring grpc-retry-pushback-ms) gets past three throttles.
      fault "$EMULATOR" '{"action":"GetFile","fault":{"kind":"throttle","retry_after_ms":100},"times":3}'
      recipe "$lang" retry-policy DATASTUDIO_GATEWAY_ADDR="$ADDR" -- '^retry-policy: ok$'
    fi
    recipe "$lang" auth -- '^auth: token over mTLS: [0-9]+ release packages$' \
      '^auth: mTLS without the token: (PERMISSION_DENIED|PermissionDenied)$'
    before1="$(handled "$ADMIN1" ListWorkspaces)" before2="$(handled "$ADMIN2" ListWorkspaces)"
    recipe "$lang" roundrobin DATASTUDIO_REPLICAS="$ADDR,$ADDR2" -- '^roundrobin: 10 calls over 2 replicas$'
    served1=$(($(handled "$ADMIN1" ListWorkspaces) - before1)) served2=$(($(handled "$ADMIN2" ListWorkspaces) - before2))
    if ((served1 >= 3 && served2 >= 3)); then
      pass "cookbook $lang roundrobin: replicas served $served1 and $served2 of 10"
    else
      fail "cookbook $lang roundrobin: replicas served $served1 and $served2 of 10"
    fi
    recipe "$lang" errors DATASTUDIO_GATEWAY_ADDR="$ADDR2" -- \
      '^errors:   BadRequest field=page_size: ' \
      '^errors:   PreconditionFailure type=FILE_NOT_FOUND subject=workspaces/demo-dataworks/files/999999$' \
      '^errors: (RESOURCE_EXHAUSTED|ResourceExhausted) ' '^errors:   QuotaFailure subject=' \
      '^errors:   RetryInfo [0-9]+ ms$' '^errors:   ErrorInfo reason=VENDOR_DAILY_QUOTA_EXHAUSTED domain=datastudio-gateway'
  done
else
  fail "cookbook: setting up its gateways" "$WORK/cookbook-setup.log"
fi
stop_cookbook

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
