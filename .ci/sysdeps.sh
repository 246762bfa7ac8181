#!/usr/bin/env bash
# Install the system packages the test suite needs, when they are missing (Debian/Ubuntu, as root).
# Called by `make test`, so the README's one test command works on a fresh machine.
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
command -v bash >/dev/null || need+=(bash)
command -v dash >/dev/null || need+=(dash)
command -v setsid >/dev/null || need+=(util-linux)
command -v tar >/dev/null || need+=(tar)
command -v gzip >/dev/null || need+=(gzip)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]} (install them, or run as root on Debian/Ubuntu)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}"
