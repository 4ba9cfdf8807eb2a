"""The one source of time for every service (DESIGN §8).

Nothing else in the code base reads the wall clock: use cases receive a `Clock`, so tests can
freeze or move time and the legal rules can be exercised on their edges.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, optionally shifted (dev-only demos of time rules)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


class ManualClock:
    """A clock that moves only when told to: for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start instant")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware instant")
        self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


CLOCK_OFFSET_VARIABLE = "SECURACT_CLOCK_OFFSET_SECONDS"


class ClockOffsetNotAllowedError(ValueError):
    """A clock offset was configured outside dev mode."""


def clock_from_environment(environment: str, offset_seconds: float = 0.0) -> SystemClock:
    """The service clock for a deployment mode, shifted by `offset_seconds` in dev only.

    `SECURACT_CLOCK_OFFSET_SECONDS` (settings field `clock_offset_seconds`) lets demos and
    black-box tests move every service into a Sunday or past 21:00. Outside dev a shifted clock
    would forge legal dates, so any non-zero offset stops the service at start.
    """
    if not math.isfinite(offset_seconds):
        raise ValueError(f"{CLOCK_OFFSET_VARIABLE} must be a finite number of seconds")
    if offset_seconds and environment != "dev":
        raise ClockOffsetNotAllowedError(
            f"{CLOCK_OFFSET_VARIABLE} is only allowed in dev mode, not in {environment!r}"
        )
    return SystemClock(timedelta(seconds=offset_seconds))
