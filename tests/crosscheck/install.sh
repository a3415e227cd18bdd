#!/usr/bin/env bash
# Installs the two independent X12 readers the tests read the gateway's output back with:
# node-x12 (npm) and pyx12 (PyPI), into $CROSSCHECK_HOME (default: .build/crosscheck).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
home=${CROSSCHECK_HOME:-$root/.build/crosscheck}
mkdir -p "$home"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$home/node_modules/node-x12/package.json" ]; then
  (cd "$home" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --silent --no-audit --no-fund node-x12@1.7.1 >/dev/null 2>&1)
fi
if [ ! -x "$home/venv/bin/python" ] || ! "$home/venv/bin/python" -c 'import pyx12' 2>/dev/null; then
  python3 -m venv "$home/venv"
  "$home/venv/bin/pip" install -q --disable-pip-version-check pyx12==4.0.0 2>/dev/null
fi
echo "cross-check readers ready in $home"
