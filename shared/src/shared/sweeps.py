"""Periodic "claim what is due and process it" loops, written once.

A sweep reads a batch of due items, processes each under optimistic concurrency, and reads the
next batch until nothing is due or a whole batch made no progress. An item another replica (or
a concurrent request) changed first fails its version check and is left to the next run: so
nothing is processed twice, nothing is lost, and replicas may sweep at the same time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from shared.clock import Clock
from shared.store.port import VersionConflictError

T = TypeVar("T")


async def sweep(
    clock: Clock,
    due: Callable[[datetime], Awaitable[Sequence[T]]],
    process: Callable[[T, datetime], Awaitable[bool]],
) -> int:
    """Process every item `due(now)` returns, batch after batch; `process(item, now)` says
    whether it settled the item (False: not yet, e.g. rescheduled). Returns how many settled.

    A `VersionConflictError` skips the item (someone else changed it); any other error stops
    the sweep, leaving the items not reached for the next run."""
    settled = 0
    while True:
        now = clock.now()
        batch = await due(now)
        if not batch:
            return settled
        progressed = False
        for item in batch:
            try:
                done = await process(item, now)
            except VersionConflictError:
                continue
            if done:
                settled += 1
                progressed = True
        if not progressed:
            return settled
