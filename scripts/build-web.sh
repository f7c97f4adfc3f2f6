#!/usr/bin/env bash
# Builds the console (web/ → web/dist with Vite) when the build is missing or older than any of its
# sources (web/, src/gen, the lock file); otherwise does nothing. npm start and npm test run it.
# --force rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=web/dist/index.html
if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] &&
  [ -z "$(find web src/gen package-lock.json -newer "$stamp" -type f -not -path 'web/dist/*' -print -quit)" ]; then
  exit 0
fi
echo "== building the console (web/ → web/dist)"
scripts/node24.sh npx --no-install vite build --config web/vite.config.ts --logLevel warn
