"""`sweep`: batches of due items until none is due; an item someone else changed first is
skipped, not retried in a loop; a batch with no progress ends the run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock
from shared.store.port import VersionConflictError
from shared.sweeps import sweep

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)


async def test_every_due_item_is_processed_batch_after_batch() -> None:
    clock = ManualClock(START)
    pending = list(range(7))
    seen: list[datetime] = []

    async def due(now: datetime) -> Sequence[int]:
        seen.append(now)
        return pending[:3]

    async def process(item: int, now: datetime) -> bool:
        pending.remove(item)
        clock.advance(timedelta(seconds=1))
        return True

    assert await sweep(clock, due, process) == 7
    assert pending == []
    # Each batch is read at its own instant.
    assert seen == [START + timedelta(seconds=s) for s in (0, 3, 6, 7)]


async def test_an_item_changed_by_someone_else_is_skipped() -> None:
    clock = ManualClock(START)
    pending = ["a", "b", "c"]

    async def due(now: datetime) -> Sequence[str]:
        return list(pending)

    async def process(item: str, now: datetime) -> bool:
        pending.remove(item)
        if item == "b":
            raise VersionConflictError(item)
        return True

    assert await sweep(clock, due, process) == 2
    assert pending == []


async def test_a_batch_without_progress_ends_the_run() -> None:
    clock = ManualClock(START)
    calls = 0

    async def due(now: datetime) -> Sequence[str]:
        return ["not-yet"]

    async def process(item: str, now: datetime) -> bool:
        nonlocal calls
        calls += 1
        return False  # rescheduled: still due next run, not this one

    assert await sweep(clock, due, process) == 0
    assert calls == 1


async def test_any_other_error_stops_the_sweep() -> None:
    clock = ManualClock(START)
    processed: list[int] = []

    async def due(now: datetime) -> Sequence[int]:
        return [1, 2, 3]

    async def process(item: int, now: datetime) -> bool:
        if item == 2:
            raise RuntimeError("process killed")
        processed.append(item)
        return True

    with pytest.raises(RuntimeError):
        await sweep(clock, due, process)
    assert processed == [1]
