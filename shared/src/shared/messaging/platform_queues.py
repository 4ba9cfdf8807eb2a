"""The platform's consumer queues, derived from the services' consumers (each service's
`<service>.consumers.QUEUES`, itself derived from its handler tables) and committed as
`platform_queues.json` beside this module: every service declares all of them at start
(`shared.messaging.topology`), without importing the other services.

    python -m shared.messaging.platform_queues --write   # after changing a consumer (make schemas)
    python -m shared.messaging.platform_queues --check   # the committed file is current
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

SNAPSHOT: Final = Path(__file__).with_name("platform_queues.json")
SERVICES: Final = ("audit", "identity", "consent", "delivery", "notify", "retention")


def load() -> dict[str, tuple[str, ...]]:
    """The committed queues and their bindings."""
    raw: dict[str, list[str]] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return {queue: tuple(bindings) for queue, bindings in raw.items()}


def derive() -> dict[str, tuple[str, ...]]:
    """The queues as the services' consumers subscribe them now."""
    found: dict[str, tuple[str, ...]] = {}
    for service in SERVICES:
        queues: dict[str, tuple[str, ...]] = importlib.import_module(f"{service}.consumers").QUEUES
        for queue, bindings in queues.items():
            if queue in found:
                raise ValueError(f"{queue} is subscribed twice")
            found[queue] = tuple(bindings)
    return found


def _text(queues: dict[str, tuple[str, ...]]) -> str:
    return json.dumps({q: list(b) for q, b in queues.items()}, indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = _text(derive())
    if "--write" in argv:
        SNAPSHOT.write_text(text, encoding="utf-8")
        return 0
    if SNAPSHOT.read_text(encoding="utf-8") != text:
        log.error("platform_queues.json is stale: run make schemas")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
