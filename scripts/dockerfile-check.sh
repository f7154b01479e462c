#!/usr/bin/env bash
# Static checks of the Dockerfile against Cargo.toml and the gateway's container contract
# (no Docker daemon needed): the release build command, the binary name in COPY and
# ENTRYPOINT, the base images, ports, default command, user and .dockerignore.
# Run from anywhere; scripts/helm-test.sh calls it. Exits non-zero on any failed check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

python3 - <<'PY'
import json, re, shlex, sys

failures = []
passed = 0

def check(ok, what, detail=""):
    global passed
    if ok:
        passed += 1
        print(f"  ok   {what}")
    else:
        failures.append(what)
        print(f"  FAIL {what}" + (f": {detail}" if detail else ""))

# --- Cargo.toml: the binary's name ([[bin]] name, else the package name) ---------------------
try:
    import tomllib
    with open("Cargo.toml", "rb") as f:
        cargo = tomllib.load(f)
except ModuleNotFoundError:  # Python < 3.11: a minimal reader for the two keys we need
    cargo, section = {"package": {}, "bin": []}, None
    for line in open("Cargo.toml", encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line == "[package]":
            section = cargo["package"]
        elif line == "[[bin]]":
            section = {}
            cargo["bin"].append(section)
        elif line.startswith("["):
            section = None
        elif section is not None and "=" in line:
            k, v = (x.strip() for x in line.split("=", 1))
            if v.startswith('"'):
                section[k] = v.strip('"')
except FileNotFoundError:
    print("dockerfile-check: Cargo.toml not found at the repository root")
    sys.exit(1)

package = cargo.get("package", {}).get("name")
bins = [b.get("name") for b in cargo.get("bin", []) if b.get("name")]
binary = bins[0] if len(bins) == 1 else package
check(binary is not None, "Cargo.toml names the binary", "no [[bin]] name and no package name")

# --- Dockerfile: instructions with continuations joined, ARG defaults resolved --------------
lines, buf = [], ""
for raw in open("Dockerfile", encoding="utf-8"):
    s = raw.rstrip("\n")
    if not buf and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if s.rstrip().endswith("\\"):
        buf += s.rstrip()[:-1] + " "
        continue
    buf += s
    lines.append(buf.strip())
    buf = ""

args, stages, instrs = {}, [], []
for line in lines:
    word, _, rest = line.partition(" ")
    word = word.upper()
    rest = rest.strip()
    if word == "ARG" and "=" in rest and not stages:
        k, v = rest.split("=", 1)
        args[k.strip()] = v.strip().strip('"')
    if word == "FROM":
        parts = rest.split()
        image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), parts[0])
        alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
        stages.append({"image": image, "alias": alias, "instrs": []})
    elif stages:
        stages[-1]["instrs"].append((word, rest))
    instrs.append((word, rest))

check(len(stages) >= 2, "multi-stage build", f"{len(stages)} stage(s)")
builder, runtime = stages[0], stages[-1]
DIGEST = r"@sha256:[0-9a-f]{64}"
check(re.fullmatch(r"rust:1(\.\d+)*-bookworm" + DIGEST, builder["image"] or "") is not None,
      "builder stage is rust:1.x-bookworm pinned by digest", builder["image"])
check(re.fullmatch(r"gcr\.io/distroless/cc-debian12:nonroot" + DIGEST, runtime["image"] or "") is not None,
      "runtime stage is gcr.io/distroless/cc-debian12:nonroot pinned by digest", runtime["image"])
check(open("Dockerfile", encoding="utf-8").readline().startswith("# syntax=docker/dockerfile:1."),
      "a BuildKit syntax directive (cache mounts need dockerfile:1.2+)")

builder_runs = [r for w, r in builder["instrs"] if w == "RUN"]
cargo_builds = [m.group(0) for r in builder_runs for m in re.finditer(r"cargo build[^&;|]*", r)]
check(bool(cargo_builds) and all(re.fullmatch(r"cargo build --release --locked\s*", c) for c in cargo_builds),
      "every build runs `cargo build --release --locked`", "; ".join(cargo_builds) or "no cargo build")
cache_targets = {m.group(1) for r in builder_runs if "cargo build" in r
                 for m in re.finditer(r"--mount=type=cache,[^ ]*?target=([^, ]+)", r)}
check({"/usr/local/cargo/registry", "/build/target"} <= cache_targets,
      "the build keeps the crate registry and target dir in BuildKit cache mounts", str(sorted(cache_targets)))
profile = cargo.get("profile", {}).get("release", {})
check(profile.get("strip") in (True, "symbols"), "the release profile strips the binary (Cargo.toml strip = true)",
      str(profile.get("strip")))
check(any(f"target/release/{binary}" in r for r in builder_runs),
      f"the builder takes target/release/{binary}")

def exec_form(rest):
    try:
        v = json.loads(rest)
        return v if isinstance(v, list) else None
    except json.JSONDecodeError:
        return None

entry = [exec_form(r) for w, r in runtime["instrs"] if w == "ENTRYPOINT"]
entry = entry[-1] if entry else None
check(bool(entry) and entry[0].rsplit("/", 1)[-1] == binary,
      f"ENTRYPOINT (exec form) runs the {binary} binary", str(entry))
copies = [r for w, r in runtime["instrs"] if w == "COPY" and r.startswith("--from=")]
copied_to = [shlex.split(r)[-1] for r in copies]
check(bool(entry) and entry[0] in copied_to and len(copies) <= 2,
      "the runtime stage copies only the binary (and the empty state dir) from the builder", str(copied_to))
cmd = [exec_form(r) for w, r in runtime["instrs"] if w == "CMD"]
check(bool(cmd) and cmd[-1] == ["serve", "--config", "/etc/datastudio-gateway/config.yaml"],
      "CMD is serve --config /etc/datastudio-gateway/config.yaml", str(cmd[-1] if cmd else None))
exposed = {p.split("/")[0] for w, r in runtime["instrs"] if w == "EXPOSE" for p in r.split()}
check({"50051", "9090"} <= exposed, "EXPOSE 50051 (grpc) and 9090 (admin)", str(sorted(exposed)))
labels = {}
for w, r in runtime["instrs"]:
    if w == "LABEL":
        for tok in shlex.split(r):
            k, _, v = tok.partition("=")
            labels[k] = v
stage_args = {}
for w, r in runtime["instrs"]:
    if w == "ARG" and "=" in r:
        k, v = r.split("=", 1)
        stage_args[k.strip()] = v.strip().strip('"')
resolve = lambda v: re.sub(r"\$\{(\w+)\}", lambda m: stage_args.get(m.group(1), m.group(0)), v)
oci = "org.opencontainers.image."
missing = [k for k in ("title", "description", "version", "revision", "created", "licenses") if oci + k not in labels]
check(not missing, "OCI labels: title, description, version, revision, created, licenses", f"missing {missing}")
version = cargo.get("package", {}).get("version")
check(resolve(labels.get(oci + "version", "")) == version, f"the version label defaults to Cargo.toml's {version}",
      resolve(labels.get(oci + "version", "")))
check(labels.get(oci + "licenses") == cargo.get("package", {}).get("license"), "the licenses label is Cargo.toml's license",
      labels.get(oci + "licenses"))
health = [r for w, r in runtime["instrs"] if w == "HEALTHCHECK"]
health_cmd = exec_form(health[-1].split("CMD", 1)[1].strip()) if health and "CMD" in health[-1] else None
check(bool(health_cmd) and bool(entry) and health_cmd[0] == entry[0] and health_cmd[1] == "healthcheck",
      f"HEALTHCHECK runs `{binary} healthcheck` (exec form)", str(health_cmd))
users = [r for w, r in runtime["instrs"] if w == "USER"]
check(bool(users) and users[-1].split(":")[0] in ("65532", "nonroot"), "runs as uid 65532", str(users))

# --- .dockerignore ----------------------------------------------------------------------------
try:
    ignore = {l.strip().rstrip("/") for l in open(".dockerignore", encoding="utf-8") if l.strip() and not l.startswith("#")}
except FileNotFoundError:
    ignore = set()
for must in ("target", ".git", "**/node_modules"):
    check(must in ignore, f".dockerignore excludes {must}")

print(f"dockerfile-check: {passed} checks ok, {len(failures)} failed")
sys.exit(1 if failures else 0)
PY
