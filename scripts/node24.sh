#!/usr/bin/env bash
# Runs "$@" with Node 24 first on PATH. Node 24 is fetched once from the npm
# registry (package node-linux-<arch>) into a cache outside the repo, so a fresh
# machine whose system Node is older needs nothing installed by hand.
set -euo pipefail

NODE_VERSION=24.21.0
cache="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
dir="$cache/node-v$NODE_VERSION"

current_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$current_major" -lt 24 ]; then
  if [ ! -x "$dir/bin/node" ]; then
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "node24: unsupported architecture $(uname -m)" >&2; exit 1 ;;
    esac
    mkdir -p "$cache"
    # One download at a time, even when several scripts start at once.
    exec 9>"$cache/.node-v$NODE_VERSION.lock"
    flock 9
    if [ ! -x "$dir/bin/node" ]; then
      tmp=$(mktemp -d "$cache/node-download.XXXXXX")
      echo "node24: fetching node-linux-$arch@$NODE_VERSION from the npm registry" >&2
      (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null)
      tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp"
      rm -rf "$dir" && mv "$tmp/package" "$dir"
      rm -rf "$tmp"
    fi
    flock -u 9
    exec 9>&-
  fi
  export PATH="$dir/bin:$PATH"
fi
exec "$@"
