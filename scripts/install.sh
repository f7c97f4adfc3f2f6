#!/usr/bin/env bash
# Installs the npm dependencies (with Node 24 on PATH) when package-lock.json or
# patches/ changed since the last install; a no-op otherwise. npm's postinstall
# applies patches/ (patch-package; see the README's dependency notes).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.gatehouse-lock-hash
want=$(cat package-lock.json patches/*.patch | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # `npm install`, not `npm ci`: the lock file cannot list the platform packages of
  # @biomejs/biome and @bufbuild/buf for other systems when the registry in use does not
  # serve them, and `npm ci` refuses a lock file without them. With the lock file present,
  # `npm install` installs exactly its versions.
  scripts/node24.sh npm install --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
