#!/usr/bin/env bash
# Makes sure SoftHSM2 (a PKCS#11 token in files) is at /usr/lib/softhsm/libsofthsm2.so for the
# key tests (tests/integration/crypto make their own token) and `SECURACT_KEYS=pkcs11 make up`:
# installs Debian's softhsm2 with apt when missing and root, otherwise says what to install.
set -euo pipefail

say() { printf '[softhsm] %s\n' "$*"; }
MODULE=/usr/lib/softhsm/libsofthsm2.so

if [ -f "$MODULE" ] && command -v softhsm2-util >/dev/null 2>&1; then exit 0; fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "SoftHSM2 is not installed at $MODULE; the PKCS#11 key tests will be skipped"
  say "and SECURACT_KEYS=pkcs11 cannot run. Install it (Debian/Ubuntu: sudo apt-get install softhsm2)."
  exit 1
fi

say "installing softhsm2 with apt"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null

if [ -f "$MODULE" ]; then
  say "ready: $(softhsm2-util --version 2>/dev/null || echo "$MODULE")"
  exit 0
fi
say "apt finished but $MODULE is still missing"
exit 1
