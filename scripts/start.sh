#!/usr/bin/env bash
# `npm start`: installs what is missing and runs Gatehouse on its embedded
# defaults (PGlite in ./data, in-process coordination, built-in identity
# provider) unless the environment says otherwise (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec scripts/node24.sh node src/main.ts
