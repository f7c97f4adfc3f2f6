#!/usr/bin/env bash
# The browser suites drive Debian's Chromium through playwright-core (`npx playwright install`
# cannot reach its download host here). Installs the package when /usr/bin/chromium is missing;
# a no-op otherwise. Needs root (or passwordless sudo) on a Debian-based machine.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
sudo_cmd=()
[ "$(id -u)" = 0 ] || sudo_cmd=(sudo -n)
echo "install-chromium: apt-get install -y chromium" >&2
"${sudo_cmd[@]}" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "install-chromium: /usr/bin/chromium is still missing" >&2; exit 1; }
