#!/usr/bin/env bash
# Makes sure `promtool` (Debian's prometheus package) is installed for the alert rules' tests
# (tests/unit/test_alert_rules.py runs `promtool test rules`): installs it with apt when missing
# and root, otherwise says what to install.
set -euo pipefail

say() { printf '[promtool] %s\n' "$*"; }

if command -v promtool >/dev/null 2>&1; then exit 0; fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "promtool is not installed; the alert rules' tests will be skipped."
  say "Install it (Debian/Ubuntu: sudo apt-get install prometheus)."
  exit 1
fi

say "installing prometheus (for promtool) with apt"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
# Only the binaries are wanted: policy-rc.d keeps the packaged server from starting.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null

if command -v promtool >/dev/null 2>&1; then
  say "ready: $(promtool --version 2>&1 | head -1)"
  exit 0
fi
say "apt finished but promtool is still missing"
exit 1
