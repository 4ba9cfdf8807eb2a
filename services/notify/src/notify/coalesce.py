"""Group commit for the senders: concurrent requests that arrive while a batch is being written
are written together in the next one, so that N senders cost one store transaction instead of N
(a claim of N notifications, or the outcomes of N attempts).

Nothing waits to fill a batch: a request alone is written at once, as before; only requests
that would otherwise queue behind the store share a round trip. Each caller gets its own result,
or the batch's exception (each caller then decides, e.g. retries alone).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """`submit(item)` → `write(batch)[position of item]`, one `write` at a time."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[Sequence[Result]]]) -> None:
        self._write = write
        self._lock = asyncio.Lock()
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        try:
            async with self._lock:
                if not future.done():
                    await self._write_waiting()
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise
        return future.result()

    async def _write_waiting(self) -> None:
        batch = [(item, future) for item, future in self._waiting if not future.done()]
        self._waiting = []
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException:
            # This writer is cancelled: the others' requests wait for the next writer.
            self._waiting[:0] = [(item, future) for item, future in batch if not future.done()]
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
