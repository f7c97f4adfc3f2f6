#!/usr/bin/env bash
# `npm run bench`: the benchmarks need h2load (Debian's nghttp2-client) as their gRPC load
# generator; install it when it is missing, then run bench/run.ts with Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v h2load >/dev/null; then
  echo "bench: installing h2load (nghttp2-client)" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y nghttp2-client >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nghttp2-client >/dev/null; })
  else
    sudo apt-get install -y nghttp2-client >/dev/null
  fi
fi
scripts/install.sh
exec scripts/node24.sh node bench/run.ts "$@"
