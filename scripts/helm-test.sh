#!/usr/bin/env bash
# Tests the Helm chart (helm/datastudio-gateway) and the Dockerfile, without a cluster:
#   - Chart.yaml appVersion equals the crate version in Cargo.toml
#   - helm lint --strict and helm template with every ci/*-values.yaml
#   - values that must be rejected (schema, render-time checks) really fail to render
#   - checksum annotations follow config / Secret changes
#   - template unit tests (helm-unittest plugin, tests/*_test.yaml)
#   - rendered manifests against the Kubernetes JSON schemas (kubernetes-validate, offline)
#   - rendered config.yaml files against the gateway's own parser, when a built binary exists
#   - static checks of the Dockerfile (scripts/dockerfile-check.sh)
# Tools missing from the machine are installed from the package registries (Go module proxy,
# PyPI) into a cache outside the clone. Run from anywhere; non-interactive.
# Ends with `helm: N passed, M failed`; exits non-zero when anything failed.
set -euo pipefail

HELM_VERSION=v3.21.4              # helm.sh/helm/v3, built with `go install`
HELM_UNITTEST_VERSION=v1.1.2      # github.com/helm-unittest/helm-unittest, built from its module
KUBERNETES_VALIDATE_VERSION=1.37.0  # PyPI; bundles the Kubernetes JSON schemas (no download at run time)
PYYAML_VERSION=6.0.2
KUBE_VERSIONS=(1.30.0 1.37.0)     # validate against the oldest supported and the newest bundled
RENDER_KUBE_VERSION=1.30.0        # Chart.yaml requires >=1.30; plain `helm template` assumes 1.20

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CHART=helm/datastudio-gateway
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/datastudio-gateway/tools"
export CI="${CI:-true}"
START=$SECONDS

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
FAILURES=()
pass() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$1"; }
fail() {
  FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf '  FAIL %s\n' "$1"
  if [[ -n "${2:-}" && -s "$2" ]]; then sed 's/^/       | /' "$2" | tail -n 40; fi
}
# check NAME CMD...: passes when CMD exits 0.
check() {
  local name=$1; shift
  local log="$WORK/log.$((PASSED + FAILED))"
  if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi
}
# reject NAME PATTERN CMD...: passes when CMD exits non-zero and its output matches PATTERN.
reject() {
  local name=$1 pattern=$2; shift 2
  local log="$WORK/log.$((PASSED + FAILED))"
  if "$@" >"$log" 2>&1; then
    echo "rendered, but should have been rejected" >>"$log"; fail "$name" "$log"
  elif grep -Eq -- "$pattern" "$log"; then
    pass "$name"
  else
    echo "failed, but without the expected message /$pattern/" >>"$log"; fail "$name" "$log"
  fi
}
note() { printf '  note %s\n' "$1"; }
section() { printf '\n== %s\n' "$1"; }

# --- tools ------------------------------------------------------------------------------------
section "tools"
need_go() {
  command -v go >/dev/null 2>&1 || { echo "helm-test: Go is needed to build helm (go install); install Go first" >&2; exit 1; }
}

# helm: any helm v3.14+ on PATH, else the pinned version built into $(go env GOPATH)/bin.
helm_ok() {
  command -v helm >/dev/null 2>&1 || return 1
  local v; v="$(helm version --template '{{.Version}}' 2>/dev/null || true)"
  [[ "$v" =~ ^v3\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 14 ))
}
if ! helm_ok && command -v go >/dev/null 2>&1; then
  export PATH="$(go env GOPATH)/bin:$PATH"
fi
if ! helm_ok; then
  need_go
  echo "  installing helm $HELM_VERSION with go install (a few minutes the first time)"
  GOFLAGS="${GOFLAGS:-} -mod=mod" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  export PATH="$(go env GOPATH)/bin:$PATH"
  helm_ok || { echo "helm-test: helm $HELM_VERSION did not install" >&2; exit 1; }
fi
echo "  helm $(helm version --template '{{.Version}}') at $(command -v helm)"

# helm-unittest as a helm plugin in our own plugin directory. Its go.mod has a replace
# directive, so `go install mod@version` refuses it: build it inside its downloaded module.
export HELM_PLUGINS="$TOOLS/helm-plugins"
UNITTEST_DIR="$HELM_PLUGINS/unittest"
if [[ "$(cat "$UNITTEST_DIR/.version" 2>/dev/null || true)" != "$HELM_UNITTEST_VERSION" ]]; then
  need_go
  echo "  building helm-unittest $HELM_UNITTEST_VERSION from the Go module proxy (a few minutes the first time)"
  mod_json="$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION")"
  mod_dir="$(printf '%s' "$mod_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "$mod_dir" "$WORK/helm-unittest" && chmod -R u+w "$WORK/helm-unittest"
  mkdir -p "$UNITTEST_DIR"
  (cd "$WORK/helm-unittest" && GOFLAGS="${GOFLAGS:-} -mod=mod" go build -o "$UNITTEST_DIR/untt" ./cmd/helm-unittest)
  cat >"$UNITTEST_DIR/plugin.yaml" <<EOF
name: unittest
version: "${HELM_UNITTEST_VERSION#v}"
usage: unittest for helm charts
description: Unit test for helm charts in YAML (built from source by scripts/helm-test.sh).
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
EOF
  echo "$HELM_UNITTEST_VERSION" >"$UNITTEST_DIR/.version"
fi
echo "  helm-unittest $(cat "$UNITTEST_DIR/.version") in $UNITTEST_DIR"

# kubernetes-validate (and PyYAML) in a private virtualenv.
VENV="$TOOLS/venv-helm"
VENV_STAMP="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION pyyaml==$PYYAML_VERSION"
if [[ "$(cat "$VENV/.stamp" 2>/dev/null || true)" != "$VENV_STAMP" ]]; then
  echo "  installing $VENV_STAMP into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "pyyaml==$PYYAML_VERSION"
  echo "$VENV_STAMP" >"$VENV/.stamp"
fi
PY="$VENV/bin/python"

# render ARGS...: the chart with one workspace (tests/values/workspace.yaml) and ARGS.
render() { helm template dsgw "$CHART" --namespace data --kube-version "$RENDER_KUBE_VERSION" -f "$CHART/tests/values/workspace.yaml" "$@"; }

# --- versions ---------------------------------------------------------------------------------
section "versions"
version_check() {
  [[ -f Cargo.toml ]] || { echo "Cargo.toml not found at the repository root"; return 1; }
  local crate app
  crate="$(awk '/^\[/{p=($0=="[package]")} p && /^version[[:space:]]*=/{gsub(/.*=[[:space:]]*"|".*/,""); print; exit}' Cargo.toml)"
  app="$(awk '/^appVersion:/{gsub(/^appVersion:[[:space:]]*|"|'"'"'/,""); print; exit}' "$CHART/Chart.yaml")"
  echo "Cargo.toml version: ${crate:-<none>}, Chart.yaml appVersion: ${app:-<none>}"
  [[ -n "$crate" && "$crate" == "$app" ]]
}
check "Chart.yaml appVersion equals the crate version in Cargo.toml" version_check

# --- lint and render --------------------------------------------------------------------------
section "lint and render"
# The chart defaults alone (serve mode, no workspace) must fail, naming what is missing.
reject "render: chart defaults (serve mode without a workspace)" "mode is serve and config.workspaces is empty" \
  helm template dsgw "$CHART" --namespace data --kube-version "$RENDER_KUBE_VERSION"
CI_FILES=("$CHART"/ci/*-values.yaml)
for f in "${CI_FILES[@]}"; do
  name="$(basename "$f" .yaml)"
  check "helm lint --strict -f ci/$name.yaml" helm lint --strict "$CHART" -f "$f"
  check "helm template -f ci/$name.yaml" bash -c 'helm template dsgw "$1" --namespace data --kube-version "$2" -f "$3" >"$4"' \
    _ "$CHART" "$RENDER_KUBE_VERSION" "$f" "$WORK/$name.rendered.yaml"
done

# --- values that must be rejected -------------------------------------------------------------
section "rejected values (must fail to render)"
reject "schema: misspelled top-level value (replicaCont)" "additional properties 'replicaCont' not allowed" \
  render --set replicaCont=2
reject "schema: wrong type (replicaCount=two)" "replicaCount.*want integer" \
  render --set replicaCount=two
reject "schema: wrong type (service.grpcPort=grpc)" "grpcPort.*want integer" \
  render --set service.grpcPort=grpc
reject "schema: inline secret in credentials (access_key_secret)" "access_key_secret.*want object" \
  render --set config.workspaces.dw-prod.vendor=alibaba --set config.workspaces.dw-prod.credentials.access_key_secret=s3cr3t
reject "schema: inline secret beside credentials (secret_access_key)" "secret_access_key.*want object" \
  render --set config.workspaces.da-prod.vendor=huawei --set config.workspaces.da-prod.secret_access_key=s3cr3t
reject "schema: unknown vendor" "vendor.*must be one of" \
  render --set config.workspaces.x.vendor=aws
reject "schema: a huawei key on an alibaba workspace (workspace_id)" "invalid propertyName 'workspace_id'" \
  render --set config.workspaces.dw-prod.vendor=alibaba --set config.workspaces.dw-prod.workspace_id=ws-1
reject "schema: a credential huawei does not take (security_token)" "invalid propertyName 'security_token'" \
  render --set config.workspaces.da-prod.vendor=huawei --set config.workspaces.da-prod.credentials.security_token.env=T
reject "schema: an Alibaba credential on a huawei workspace (rrsa)" "invalid propertyName 'rrsa'" \
  render --set config.workspaces.da-prod.vendor=huawei --set-json 'config.workspaces.da-prod.credentials.rrsa={}'
reject "schema: a role ARN that is not one (cloudIdentity.alibabaRrsa.roleArn)" "roleArn.*does not match" \
  render --set cloudIdentity.alibabaRrsa.roleArn=my-role
reject "render: terminationGracePeriodSeconds not above preStop + shutdown grace" \
  "terminationGracePeriodSeconds \(25\) must be greater than" \
  render --set terminationGracePeriodSeconds=25
reject "render: shutdown grace longer than terminationGracePeriodSeconds" "must be greater than" \
  render --set terminationGracePeriodSeconds=60 --set config.server.shutdown_grace=1m
reject "render: redis backend without a Redis Secret" "set redis.existingSecret" \
  render --set config.limits.backend=redis
reject "schema: unknown limits.redis.failure_policy" "failure_policy.*must be one of" \
  render --set config.limits.backend=redis --set redis.existingSecret=r --set config.limits.redis.failure_policy=fail_open
reject "render: file reference without a credential behind it" "is not set" \
  render --set config.workspaces.dw-prod.vendor=alibaba \
         --set config.workspaces.dw-prod.credentials.access_key_id.file=/var/run/secrets/datastudio-gateway/dw-prod/access_key_id

# --- checksum annotations ---------------------------------------------------------------------
section "checksum annotations"
checksum() { # checksum KIND ARGS...: the checksum/KIND annotation of the Deployment
  local kind=$1; shift
  render -s templates/deployment.yaml "$@" | sed -n "s/^ *checksum\/$kind: *//p"
}
differs() { local a b; a="$($1)"; b="$($2)"; echo "$a vs $b"; [[ -n "$a" && -n "$b" && "$a" != "$b" ]]; }
same() { local a b; a="$($1)"; b="$($2)"; echo "$a vs $b"; [[ -n "$a" && "$a" == "$b" ]]; }
cfg_a() { checksum config; }
cfg_b() { checksum config --set config.server.shutdown_grace=25s; }
cfg_c() { checksum config --set replicaCount=3; }
sec_a() { checksum secret --set credentials.dw-prod.access_key_id=AK1; }
sec_b() { checksum secret --set credentials.dw-prod.access_key_id=AK2; }
sec_c() { checksum secret --set credentials.dw-prod.access_key_id=AK1 --set config.server.shutdown_grace=25s; }
check "checksum/config changes when the config changes" differs cfg_a cfg_b
check "checksum/config changes with replicaCount (limits.replicas)" differs cfg_a cfg_c
check "checksum/secret changes when a credential changes" differs sec_a sec_b
check "checksum/secret stays when only the config changes" same sec_a sec_c

# --- unit tests -------------------------------------------------------------------------------
section "template unit tests (helm unittest)"
check "helm unittest --strict $CHART" helm unittest --strict "$CHART"
unittest_log="$WORK/log.$((PASSED + FAILED - 1))"
grep -E '^(Tests|Test Suites):' "$unittest_log" | sed 's/^/       /' || true

# --- Kubernetes schemas -----------------------------------------------------------------------
section "rendered manifests against Kubernetes schemas (kubernetes-validate --strict)"
for kv in "${KUBE_VERSIONS[@]}"; do
  for f in "$WORK"/*.rendered.yaml; do
    [[ -s "$f" ]] || continue
    name="$(basename "$f" .rendered.yaml)"
    check "Kubernetes $kv: ci/$name.yaml" "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn -k "$kv" "$f"
  done
done
note "kubernetes-validate has no schema for the ServiceMonitor CRD (monitoring.coreos.com/v1); the unit tests cover it"

# --- alerts and dashboard ---------------------------------------------------------------------
section "alert rules and dashboard queries (Prometheus' own PromQL parser)"
# promql-check (scripts/promql-check) is built once into the tools cache from the Go module proxy.
PROMQL_CHECK="$TOOLS/promql-check-$(sha256sum scripts/promql-check/go.sum scripts/promql-check/main.go | sha256sum | cut -c1-12)"
if [[ ! -x "$PROMQL_CHECK" ]]; then
  need_go
  echo "  building scripts/promql-check (Prometheus' PromQL parser) into $PROMQL_CHECK"
  (cd scripts/promql-check && GOFLAGS="${GOFLAGS:-} -mod=mod" go build -o "$PROMQL_CHECK" .)
fi
promql_queries() { # every alert expression and dashboard query, as promql-check's input
  render -f "$CHART/ci/exposure-alerts-values.yaml" --set prometheusRule.disabledAlerts=null \
    -s templates/prometheusrule.yaml >"$WORK/rules.yaml"
  "$PY" - "$WORK/rules.yaml" "$CHART/dashboards/datastudio-gateway.json" <<'PY'
import json, sys, yaml
queries = []
for doc in yaml.safe_load_all(open(sys.argv[1])):
    for group in (doc or {}).get("spec", {}).get("groups", []):
        for rule in group["rules"]:
            queries.append({"where": "alert " + rule["alert"], "expr": rule["expr"]})
dash = json.load(open(sys.argv[2]))
for panel in dash["panels"]:
    for t in panel.get("targets", []):
        expr = t["expr"].replace("$__rate_interval", "5m")
        queries.append({"where": "panel %r %s" % (panel["title"], t["refId"]), "expr": expr})
json.dump(queries, sys.stdout)
PY
}
promql_check() {
  promql_queries >"$WORK/queries.json" || return 1
  echo "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/queries.json") expressions"
  "$PROMQL_CHECK" <"$WORK/queries.json" >"$WORK/promql.json"
}
check "every alert expression and dashboard query parses" promql_check
known_metrics() { # every series name the gateway exports, read off its metric registrations
  python3 - "$WORK/promql.json" src/telemetry <<'PY'
import json, pathlib, re, sys
names = set()
for f in pathlib.Path(sys.argv[2]).rglob("*.rs"):
    for base in re.findall(r'register\(\s*"([a-z_]+)"', f.read_text()):
        names.update({base, base + "_total", base + "_bucket", base + "_sum", base + "_count"})
unknown = [(r["where"], m) for r in json.load(open(sys.argv[1])) for m in r["metrics"] if m not in names]
for where, m in unknown:
    print(f"{where}: {m} is not a metric the gateway exports")
print(f"{len(names) // 5} metrics exported")
sys.exit(1 if unknown or not names else 0)
PY
}
check "alerts and dashboard use only metrics the gateway exports" known_metrics
dashboard_json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["uid"] and d["panels"]' "$CHART/dashboards/datastudio-gateway.json"; }
check "dashboards/datastudio-gateway.json is a dashboard" dashboard_json

# --- the gateway's own view of the rendered config --------------------------------------------
section "rendered config.yaml against the gateway's parser (check-config)"
GATEWAY_BIN="${GATEWAY_BIN:-}"
if [[ -z "$GATEWAY_BIN" ]]; then
  for b in {"${CARGO_TARGET_DIR:-target}",target}/{debug,release}/datastudio-gateway; do
    if [[ -x "$b" ]]; then GATEWAY_BIN="$b"; break; fi
  done
fi
if [[ -n "$GATEWAY_BIN" && -x "$GATEWAY_BIN" ]]; then
  # Problems that only exist outside a pod (mounted files, injected env vars, no workspaces
  # in the chart defaults) are expected; a config the gateway cannot parse is not.
  gateway_config_check() { # FILE: the rendered chart output
    local cfg="${1%.rendered.yaml}.config.yaml"
    "$PY" -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap" and "config.yaml" in d.get("data", {}):
        open(sys.argv[2], "w").write(d["data"]["config.yaml"])' "$1" "$cfg"
    local out rc=0
    out="$("$GATEWAY_BIN" check-config "$cfg" 2>&1)" || rc=$?
    echo "$out"
    (( rc == 0 )) && return 0
    grep -q ": invalid$" <<<"$out" && return 1
    ! grep -E '^  ' <<<"$out" | grep -vE 'cannot be read|is not set|is empty|no workspace is configured' | grep -q .
  }
  for f in "$WORK"/*.rendered.yaml; do
    name="$(basename "$f" .rendered.yaml)"
    if grep -q '^# check-config: future' "$CHART/ci/$name.yaml"; then
      note "ci/$name.yaml uses config keys of gateway features still to come: not checked"
      continue
    fi
    check "check-config accepts the config of ci/$name.yaml" gateway_config_check "$f"
  done
else
  note "no built gateway binary (target/debug or target/release; or set GATEWAY_BIN): check-config step skipped"
fi

# --- Dockerfile -------------------------------------------------------------------------------
section "Dockerfile (static)"
check "scripts/dockerfile-check.sh" bash scripts/dockerfile-check.sh
grep -E '^dockerfile-check:' "$WORK/log.$((PASSED + FAILED - 1))" | sed 's/^/       /' || true

# --- summary ----------------------------------------------------------------------------------
echo
if (( FAILED > 0 )); then
  printf 'failed:\n'; printf '  - %s\n' "${FAILURES[@]}"
fi
echo "helm-test took $((SECONDS - START))s"
echo "helm: $PASSED passed, $FAILED failed"
(( FAILED == 0 ))
