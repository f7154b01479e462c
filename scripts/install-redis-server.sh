#!/usr/bin/env bash
# Makes sure `redis-server` is on PATH for the shared-limiter tests (tests/redis.rs): installs
# Debian's redis-server package when it is missing. Idempotent and non-interactive; the tests
# start their own server on an ephemeral loopback port, so the packaged service is not used.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server: $(redis-server --version | head -n 1)"
  exit 0
fi
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-redis-server: redis-server is not installed and this user cannot install it;" >&2
    echo "  run as root: apt-get update && apt-get install -y redis-server" >&2
    exit 1
  fi
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-redis-server: no apt-get here; install redis-server (7.x) yourself" >&2; exit 1; }
echo "install-redis-server: installing Debian's redis-server"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# The package starts its own server where an init system runs; the tests do not need it.
"${SUDO[@]}" service redis-server stop >/dev/null 2>&1 || true
echo "redis-server: $(redis-server --version | head -n 1)"
