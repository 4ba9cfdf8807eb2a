#!/usr/bin/env bash
# Installs axe-core (MPL-2.0, pinned in tests/browser/axe/package-lock.json) for the portal's
# browser tests: they inject tests/browser/axe/node_modules/axe-core/axe.min.js into each page.
# Needs npm (Debian: apt-get install npm); installs it with apt when missing and root.
set -euo pipefail

say() { printf '[axe-core] %s\n' "$*"; }
HERE="$(cd "$(dirname "$0")/.." && pwd)/tests/browser/axe"

if [ -f "$HERE/node_modules/axe-core/axe.min.js" ]; then exit 0; fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "npm is missing: the browser tests' accessibility checks will fail."
    say "Install it (Debian/Ubuntu: sudo apt-get install npm) and run the tests again."
    exit 1
  fi
  say "installing npm with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

say "installing axe-core into $HERE"
npm ci --prefix "$HERE" --no-audit --no-fund --loglevel=error
say "ready: $(head -c 20 "$HERE/node_modules/axe-core/axe.min.js" | tr -d '/*!')"
