#!/usr/bin/env bash
# Makes sure COMMAND is on PATH, installing Debian's PACKAGE when it is missing: apt-get,
# non-interactive, as root or through password-less sudo. Idempotent; the test scripts call it
# for what a fresh machine may lack (redis-server, chromium, openssl).
#   scripts/install-debian-package.sh COMMAND PACKAGE
set -euo pipefail
cmd=$1 pkg=$2

command -v "$cmd" >/dev/null 2>&1 && exit 0
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-debian-package: $cmd is not installed and this user cannot install it;" >&2
    echo "  run as root: apt-get update && apt-get install -y $pkg" >&2
    exit 1
  fi
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-debian-package: no apt-get here; install $pkg yourself" >&2; exit 1; }
echo "install-debian-package: installing Debian's $pkg" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq </dev/null >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$pkg" </dev/null >/dev/null
command -v "$cmd" >/dev/null 2>&1 || { echo "install-debian-package: $pkg is installed but $cmd is not on PATH" >&2; exit 1; }
