#!/usr/bin/env bash
# `npm start`: installs what is missing and runs Gatehouse on its embedded
# defaults (PGlite in ./data, in-process coordination, built-in identity
# provider) unless the environment says otherwise (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
# The console (served at /console/ and /account/): built when missing or stale.
scripts/build-web.sh
# --max-semi-space-size: young-generation pauses; --no-allocation-site-pretenuring: per-call objects
# V8 had moved to the old generation (BENCHMARKS.md, findings 5 and 18). Keep in step with the
# Dockerfile, package.json's "serve" and harness/gatehouse-process.ts (test/deploy checks).
exec scripts/node24.sh node --max-semi-space-size=8 --no-allocation-site-pretenuring src/main.ts
