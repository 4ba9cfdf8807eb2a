"""Shredding: a subject's payload key destroyed for good (retention's use case, `audit.erasure`
over the bus); entries, roots and proofs are unaffected (see `audit.vault`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from audit.context import Context
from shared.store.port import Transaction


class Shredding:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def shred_subject(self, subject: str) -> bool:
        """Make every payload of `subject` unrecoverable, in a transaction of its own; True if
        a key was destroyed."""
        async with self.ctx.lock:
            return await self.ctx.vault.shred(self.ctx.store, subject)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Hold the writer's lock: no batch of this process seals a payload meanwhile. Open the
        transaction of `shred_subjects` inside it (never the other way round: the writer takes
        the lock, then its transaction)."""
        async with self.ctx.lock:
            yield

    async def shred_subjects(self, tx: Transaction, subjects: Sequence[str]) -> list[str]:
        """Destroy the payload keys of `subjects` in `tx`, which the caller opened inside
        `exclusive()`; the subjects whose key was destroyed now (those already shredded, or
        never journaled, get or keep a tombstone)."""
        if not self.ctx.lock.locked():
            raise RuntimeError("shred_subjects runs inside Journal.exclusive()")
        destroyed: list[str] = []
        for subject in dict.fromkeys(subjects):
            if await self.ctx.vault.shred_in(tx, subject):
                destroyed.append(subject)
        return destroyed

    async def is_shredded(self, subject: str) -> bool:
        key = await self.ctx.subject_keys.get(subject)
        return key is not None and key.shredded
