#!/usr/bin/env bash
# `npm test`: the whole suite, from a fresh clone. Installs dependencies,
# checks that generated code matches the protos, type-checks and lints, makes
# sure PostgreSQL, Redis and Keycloak are up, then runs every vitest project.
# Extra arguments go to vitest (e.g. `npm test -- test/wire`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh

echo "== generated code is up to date"
scripts/generate.sh
if ! git diff --quiet --exit-code -- src/gen || [ -n "$(git ls-files --others --exclude-standard -- src/gen)" ]; then
  git status --short -- src/gen
  echo "src/gen differs from what buf generate produces: run npm run generate and commit" >&2
  exit 1
fi
scripts/node24.sh npx --no-install buf lint proto
scripts/proto-breaking.sh main

echo "== type-check and lint"
scripts/node24.sh npx --no-install tsc --noEmit
scripts/node24.sh npx --no-install biome check .

echo "== services"
scripts/services.sh

echo "== tests"
exec scripts/node24.sh npx --no-install vitest run "$@"
