"""Dev keys, created on the first `make up` under var/keys/ (0600, never committed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from shared.clock import SystemClock
from shared.crypto import LocalKeyFile, load_or_create_signing_ring

SIGNING_KEY_NAME = "securact.dev"


def ensure_dev_keys(kek_file: Path, signing_file: Path, say: Callable[[str], None]) -> None:
    """Create the KEK ring and the signing key ring if they do not exist yet."""
    clock = SystemClock()
    created = [path.name for path in (kek_file, signing_file) if not path.exists()]
    asyncio.run(LocalKeyFile(kek_file, clock).current_version())
    load_or_create_signing_ring(signing_file, SIGNING_KEY_NAME, clock)
    if created:
        say(f"created dev keys in {kek_file.parent}: {', '.join(created)}")
