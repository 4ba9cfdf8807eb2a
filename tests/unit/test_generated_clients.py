"""The committed office clients (`clients/`) are what `make clients` generates from the
services' current OpenAPI: a route or a model changed without regenerating them fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_generated_clients_match_the_services_openapi() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "clients" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr[-2000:]
