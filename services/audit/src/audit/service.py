"""Audit use cases: journal each event exactly once, read the journal back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from audit.domain import GENESIS_HASH, ChainCheck, build_entry
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.store.port import DocumentStore, Index, Transaction

log = logging.getLogger(__name__)

JOURNAL = "journal"
PAYLOADS = "journal_payloads"
STATE = "journal_state"
HEAD = "head"
INDEXES = (
    Index(JOURNAL, ("event_id",), unique=True),
    Index(JOURNAL, ("index",), unique=True),
    Index(JOURNAL, ("subject", "index")),
)
MAX_PAGE = 1000


def entry_key(index: int) -> str:
    # Zero-padded so that the primary key sorts in journal order.
    return f"{index:012d}"


@dataclass(frozen=True)
class Head:
    size: int
    last_hash: str


class Journal:
    """The append-only journal in audit's store. A single logical writer: concurrent appends
    (replicas) conflict on the head document and the loser retries."""

    def __init__(self, store: DocumentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def append(self, envelope: Envelope) -> bool:
        """Journal `envelope` unless its event id already is; True if it was appended."""
        async with self._store.transaction() as tx:
            if await tx.find(JOURNAL, {"event_id": envelope.event_id}, limit=1):
                log.info("duplicate %s dropped", envelope.event_id)
                return False
            head_doc = await tx.get(STATE, HEAD)
            head = _head(head_doc)
            entry = build_entry(
                envelope,
                index=head.size,
                prev_hash=head.last_hash,
                journaled_at=self._clock.now(),
            )
            await tx.insert(JOURNAL, {"_id": entry_key(head.size), **entry})
            await tx.insert(PAYLOADS, {"_id": envelope.event_id, "payload": envelope.payload})
            await _move_head(tx, head_doc, Head(head.size + 1, entry["entry_hash"]))
        return True

    async def head(self) -> Head:
        return _head(await self._store.get(STATE, HEAD))

    async def entry(self, index: int) -> dict[str, Any] | None:
        document = await self._store.get(JOURNAL, entry_key(index))
        return _public(document) if document else None

    async def entries(
        self,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        after: int = -1,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        where: dict[str, Any] = {"index": {"$gt": after}}
        if subject is not None:
            where["subject"] = subject
        if event_type is not None:
            where["type"] = event_type
        found = await self._store.find(
            JOURNAL, where, sort=[("index", 1)], limit=min(limit, MAX_PAGE)
        )
        return [_public(doc) for doc in found]

    async def verify(self, batch: int = MAX_PAGE) -> int | None:
        """Recompute the whole chain against the head; the first broken or missing index, or
        None if the journal is intact. Entries removed from the end show as missing too."""
        head = await self.head()
        check = ChainCheck()
        while True:
            page = await self._store.find(
                JOURNAL, {"_id": {"$gte": entry_key(check.checked)}}, sort=[("_id", 1)], limit=batch
            )
            for entry in page:
                if not check.accepts(entry):
                    return check.checked
            if len(page) < batch:
                break
        if check.checked != head.size or check.last_hash != head.last_hash:
            return min(check.checked, head.size)
        return None


def _head(document: dict[str, Any] | None) -> Head:
    if document is None:
        return Head(0, GENESIS_HASH)
    return Head(int(document["size"]), str(document["last_hash"]))


async def _move_head(tx: Transaction, current: dict[str, Any] | None, new: Head) -> None:
    state = {"_id": HEAD, "size": new.size, "last_hash": new.last_hash}
    if current is None:
        await tx.insert(STATE, state)
    else:
        await tx.replace(STATE, state, expected_version=int(current["_version"]))


def _public(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if not k.startswith("_")}
