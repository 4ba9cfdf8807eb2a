#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Python 3.11+ (idempotent):
# uv, the locked workspace, and a running RabbitMQ. Used by `make up`, `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

say() { printf '[bootstrap] %s\n' "$*"; }

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  say "installing uv"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
fi
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

say "syncing the workspace (uv.lock)"
"$UV" sync --frozen --quiet

bash scripts/ensure-rabbitmq.sh
