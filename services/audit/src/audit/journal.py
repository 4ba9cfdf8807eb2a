"""The journal as its callers know it (the consumer, the API, the CLI, evidence, erasure): one
object over the use cases that share a `Context`. It decides nothing itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from audit.context import Context, JournalStats
from audit.domain import JournalEntry
from audit.journaling import JournalWriter
from audit.proofs import InclusionProof, Proofs, TreeHead
from audit.reads import Reads
from audit.sequences import ProducerTracking
from audit.shredding import Shredding
from audit.vault import OpenedPayload, StoredPayload
from shared.contracts.envelope import Envelope
from shared.store.port import Transaction


class Journal:
    """The append-only Merkle log in audit's store, with one writer per process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tracking = ProducerTracking(ctx)
        self.writer = JournalWriter(ctx, self.tracking)
        self.proofs = Proofs(ctx)
        self.reads = Reads(ctx)
        self.shredding = Shredding(ctx)

    @property
    def stats(self) -> JournalStats:
        return self.ctx.stats

    # -- writing (`audit.journaling`, `audit.sequences`, `audit.shredding`) ----------------

    async def append(self, envelope: Envelope) -> bool:
        return await self.writer.append(envelope)

    async def drain(self) -> None:
        await self.writer.drain()

    async def check_consistency(self) -> None:
        await self.writer.check_consistency()

    async def check_gaps(self) -> int:
        return await self.tracking.check_gaps()

    async def shred_subject(self, subject: str) -> bool:
        return await self.shredding.shred_subject(subject)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self.shredding.exclusive():
            yield

    async def shred_subjects(self, tx: Transaction, subjects: Sequence[str]) -> list[str]:
        return await self.shredding.shred_subjects(tx, subjects)

    async def is_shredded(self, subject: str) -> bool:
        return await self.shredding.is_shredded(subject)

    # -- reading (`audit.reads`, `audit.proofs`) -------------------------------------------

    async def head(self) -> TreeHead:
        return await self.proofs.head()

    async def entry(self, index: int) -> JournalEntry | None:
        return await self.reads.entry(index)

    async def entries(
        self,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        after: int = -1,
        limit: int = 100,
    ) -> list[JournalEntry]:
        return await self.reads.entries(
            subject=subject, event_type=event_type, event_id=event_id, after=after, limit=limit
        )

    async def payload(self, entry: JournalEntry) -> OpenedPayload:
        return await self.reads.payload(entry)

    async def stored_payload(self, entry: JournalEntry) -> StoredPayload:
        return await self.reads.stored_payload(entry)

    async def open_payload(self, stored: StoredPayload) -> OpenedPayload:
        return await self.reads.open_payload(stored)

    async def owners(self, subject: str) -> frozenset[str]:
        return await self.reads.owners(subject)

    async def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        return await self.proofs.inclusion_proof(index, size)

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return await self.proofs.consistency_proof(first, second)

    async def root_at(self, size: int) -> bytes:
        return await self.proofs.root_at(size)
