#!/usr/bin/env bash
# Makes sure Debian's ClamAV daemon is at /usr/sbin/clamd for the malware-scanner tests
# (tests/fixtures/clamd.py starts its own clamd with a test signature database): installs
# clamav-daemon and clamav with apt when missing and root, otherwise says what to install.
#
# The tests never use the real signature databases, so freshclam is preseeded to "manual": the
# package must not start a freshclam daemon that downloads them.
set -euo pipefail

say() { printf '[clamav] %s\n' "$*"; }
BINARY=/usr/sbin/clamd

if [ -x "$BINARY" ]; then exit 0; fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "ClamAV is not installed at $BINARY; the malware-scanner tests will be skipped."
  say "Install it (Debian/Ubuntu: sudo apt-get install clamav-daemon clamav) and run the tests again."
  exit 1
fi

say "installing clamav-daemon and clamav with apt (freshclam set to manual updates)"
echo "clamav-freshclam clamav-freshclam/autoupdate_freshclam select manual" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  clamav-daemon clamav >/dev/null

if [ -x "$BINARY" ]; then
  say "ready: $("$BINARY" --version 2>/dev/null || echo "$BINARY")"
  exit 0
fi
say "apt finished but $BINARY is still missing"
exit 1
