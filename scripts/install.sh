#!/usr/bin/env bash
# Installs the npm dependencies (with Node 24 on PATH) when package-lock.json
# changed since the last install; a no-op otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.gatehouse-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  scripts/node24.sh npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
