"""Browser tests: the portal in Debian's Chromium, driven by Playwright (no downloaded browser:
`scripts/ensure-chromium.sh` installs /usr/bin/chromium). Skipped with the reason when the
binary is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SECURACT_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt chromium)")
    return CHROMIUM


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where a test leaves its screenshots (git-ignored)."""
    directory = ARTIFACTS / str(request.node.name)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return directory
