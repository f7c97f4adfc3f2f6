#!/usr/bin/env bash
# `npm test`: the whole suite, from a fresh clone. Installs dependencies,
# checks that generated code matches the protos, type-checks and lints, makes
# sure PostgreSQL, Redis and Keycloak are up, then runs every vitest project.
# Extra arguments go to vitest (e.g. `npm test -- test/wire`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh
scripts/install-chromium.sh

# Keycloak takes 30-45 s to start: start it now, in the background, while the checks below run,
# and wait for it before the tests. A Keycloak this run started is stopped at the end (unless
# KEYCLOAK_KEEP_RUNNING=1); one that was already running is left alone. The outage and harness
# suites' own instances (KEYCLOAK_INSTANCE=outage, =harness) are stopped too, in case a crashed
# run left them behind.
keycloak_log="$(mktemp)"
keycloak_started_here=0
keycloak/keycloak.sh status >/dev/null 2>&1 || keycloak_started_here=1
keycloak/keycloak.sh start >"$keycloak_log" 2>&1 &
keycloak_pid=$!
finish() {
  wait "$keycloak_pid" 2>/dev/null || true
  if [ "$keycloak_started_here" = 1 ] && [ "${KEYCLOAK_KEEP_RUNNING:-0}" != 1 ]; then
    keycloak/keycloak.sh stop >/dev/null 2>&1 || true
  fi
  KEYCLOAK_INSTANCE=outage keycloak/keycloak.sh stop >/dev/null 2>&1 || true
  KEYCLOAK_INSTANCE=harness keycloak/keycloak.sh stop >/dev/null 2>&1 || true
  rm -f "$keycloak_log"
}
trap finish EXIT

echo "== generated code is up to date"
scripts/generate.sh
if ! git diff --quiet --exit-code -- src/gen packages/client/src/gen || [ -n "$(git ls-files --others --exclude-standard -- src/gen packages/client/src/gen)" ]; then
  git status --short -- src/gen packages/client/src/gen
  echo "src/gen or packages/client/src/gen differs from what buf generate produces: run npm run generate and commit" >&2
  exit 1
fi
scripts/node24.sh npx --no-install buf lint proto
scripts/proto-breaking.sh main

echo "== type-check and lint"
scripts/node24.sh npx --no-install tsc --noEmit
scripts/node24.sh npx --no-install tsc --noEmit -p web
scripts/node24.sh npx --no-install biome check .

echo "== console build (skipped when fresh; the browser tests load it)"
scripts/build-web.sh

echo "== services"
scripts/services.sh
if ! wait "$keycloak_pid"; then
  cat "$keycloak_log" >&2
  echo "Keycloak could not be started (keycloak/keycloak.sh start); the Keycloak suites need it" >&2
  exit 1
fi
grep '^KEYCLOAK_URL=' "$keycloak_log" || true

echo "== tests"
results=.build/vitest-results.json
mkdir -p .build && rm -f "$results"
status=0
scripts/node24.sh npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" ||
  status=$?
# One plain closing line, whatever reads this log: "N passed, N failed, N skipped".
if [ -f "$results" ]; then
  scripts/node24.sh node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$results"
fi
exit "$status"
