#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Python 3.11+ (idempotent):
# uv, the locked workspace, and a running RabbitMQ. Used by `make up`, `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

say() { printf '[bootstrap] %s\n' "$*"; }

install_uv() {
  # pip as it comes: a user install, else a system one (a pyenv or venv Python).
  python3 -m pip install --quiet --user uv 2>/dev/null && return 0
  python3 -m pip install --quiet uv 2>/dev/null && return 0
  # Debian's own Python: pip may be missing (python3-pip) and installs outside a venv are
  # refused (PEP 668); uv is a single static binary, so a user install cannot harm the system.
  if ! python3 -m pip --version >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing python3-pip with apt"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    else
      say "pip is missing: install python3-pip (Debian/Ubuntu) or uv itself, then run this again"
      return 1
    fi
  fi
  python3 -m pip install --quiet --user --break-system-packages uv
}

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  say "installing uv"
  install_uv
fi
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

say "syncing the workspace (uv.lock)"
"$UV" sync --frozen --quiet

bash scripts/ensure-rabbitmq.sh
# The PKCS#11 key backend's dev token (SECURACT_KEYS=pkcs11) and its tests: not fatal without it.
bash scripts/ensure-softhsm.sh || true

# The tests' local RFC 3161 TSA (tests/fixtures/tsa.py) signs with `openssl ts`.
if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing openssl with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi
