#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the portal's browser tests
# (tests/browser/): installs it with apt when missing and root, otherwise says what to install.
# Playwright drives this binary; `playwright install` is not used (it downloads its own builds).
set -euo pipefail

say() { printf '[chromium] %s\n' "$*"; }
BINARY=/usr/bin/chromium

if [ -x "$BINARY" ]; then exit 0; fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "Chromium is not installed at $BINARY; the browser tests will be skipped."
  say "Install it (Debian/Ubuntu: sudo apt-get install chromium) and run the tests again."
  exit 1
fi

say "installing chromium with apt"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ -x "$BINARY" ]; then
  say "ready: $("$BINARY" --version 2>/dev/null || echo "$BINARY")"
  exit 0
fi
say "apt finished but $BINARY is still missing"
exit 1
