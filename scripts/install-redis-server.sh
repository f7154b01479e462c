#!/usr/bin/env bash
# Makes sure `redis-server` is on PATH for the shared-limiter tests (tests/redis.rs): installs
# Debian's redis-server package when it is missing. Idempotent and non-interactive; the tests
# start their own server on an ephemeral loopback port, so the packaged service is not used.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  bash "$(dirname "${BASH_SOURCE[0]}")/install-debian-package.sh" redis-server redis-server
  # The package starts its own server where an init system runs; the tests do not need it.
  { service redis-server stop || sudo -n service redis-server stop; } >/dev/null 2>&1 || true
fi
echo "redis-server: $(redis-server --version | head -n 1)"
