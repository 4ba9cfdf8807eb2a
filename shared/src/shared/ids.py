"""UUIDv7 identifiers (RFC 9562): time-ordered, so ids sort in creation order in every store."""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def uuid7(at: datetime) -> uuid.UUID:
    """A UUIDv7 for the instant `at`, monotonic within this process.

    Within one millisecond the 12-bit `rand_a` field is a counter seeded randomly (RFC 9562
    §6.2 method 1), so ids made in a burst still sort in the order they were made.
    """
    global _last_ms, _counter
    ms = int(at.timestamp() * 1000)
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1  # counter exhausted: borrow the next millisecond
                _counter = secrets.randbelow(0x800)
        else:
            _counter = secrets.randbelow(0x800)
        _last_ms = ms
        rand_a = _counter
    rand_b = secrets.randbits(62)
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_id(at: datetime) -> str:
    """A UUIDv7 as its canonical string."""
    return str(uuid7(at))


def instant_of(id_: str) -> datetime | None:
    """The millisecond a UUIDv7 (from `new_id`) was made for; None for any other string."""
    try:
        value = uuid.UUID(id_)
    except ValueError:
        return None
    if value.version != 7:
        return None
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)
