#!/usr/bin/env bash
# `buf breaking` against main: builds main's protos (with today's third-party
# modules, which buf resolves from node_modules and .build) into an image and
# compares the working tree's API with it under the FILE rules in buf.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
against="${1:-main}"
if ! git rev-parse --verify --quiet "$against" >/dev/null; then
  echo "proto-breaking: no ref $against; nothing to compare with" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$against" proto buf.yaml | tar -x -C "$tmp"
ln -s "$PWD/node_modules" "$tmp/node_modules"
ln -s "$PWD/.build" "$tmp/.build"
(cd "$tmp" && "$OLDPWD/scripts/node24.sh" "$OLDPWD/node_modules/.bin/buf" build proto -o image.binpb)
scripts/node24.sh npx --no-install buf breaking proto --against "$tmp/image.binpb"
