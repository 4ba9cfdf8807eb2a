"""Delivery's collections, their indexes (DESIGN §10), and the acts' repository on the store
port: reads parse into `Act` or `Tombstone`; writes stamp the change (`updated_at`, `cursor`)
and carry the version read, so that a concurrent change is refused (`VersionConflictError`)
instead of being overwritten."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, TypeVar

from delivery.acts import Act, ActStatus, StoredAct, Tombstone
from delivery.evidence import EVIDENCE
from shared.store.port import (
    VERSION,
    Document,
    DocumentReader,
    DocumentWriter,
    Filter,
    Index,
    SortKey,
    to_iso,
)
from shared.vault import PENDING_INDEX

ACTS: Final = "acts"
REPLIES: Final = "replies"
IDEMPOTENCY: Final = "idempotency"
NOTIFICATIONS: Final = "notifications"
"""Notify's reports about acts (`delivery.parties`)."""
JUDGE_LEAVES: Final = "judge_leaves"
"""Each judge's leave used, by its SHA-256: the office it authorised and its acts."""

INDEXES: Final = (
    Index(ACTS, ("office_id", "cursor")),
    Index(ACTS, ("recipient_account_id", "served_at")),
    Index(ACTS, ("declaration_id", "served_at")),
    Index(ACTS, ("status", "finalise_after")),
    Index(ACTS, ("status", "scheduled_for")),
    Index(ACTS, ("probe", "submitted_at")),
    Index(EVIDENCE, ("act_id", "instant")),
    Index(NOTIFICATIONS, ("act_id",)),
    Index(REPLIES, ("act_id",)),
    Index(IDEMPOTENCY, ("created_at",)),
    PENDING_INDEX,
)

R = TypeVar("R", Act, Tombstone)


def parse(document: Document) -> StoredAct:
    if document.get("status") == ActStatus.ERASED.value:
        return Tombstone.model_validate(document)
    return Act.model_validate(document)


class ActRepository:
    """The acts on the store port (or, for reads, any reader: a transaction)."""

    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def get(self, act_id: str, reader: DocumentReader | None = None) -> StoredAct | None:
        found = await (reader or self._store).get(ACTS, act_id)
        return None if found is None else parse(found)

    async def find(
        self,
        where: Filter,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
        reader: DocumentReader | None = None,
    ) -> list[StoredAct]:
        rows = await (reader or self._store).find(ACTS, where, sort=sort, limit=limit)
        return [parse(row) for row in rows]

    async def add(self, writer: DocumentWriter, act: Act, now: datetime) -> Act:
        """Insert a new act (DuplicateKeyError if its id exists)."""
        stamped = _stamped(act, now)
        stored = await writer.insert(ACTS, stamped.document())
        return stamped.model_copy(update={"version": stored[VERSION]})

    async def save(self, writer: DocumentWriter, act: R, now: datetime) -> R:
        """Replace the act at the version it was read (inserting it if it never was)."""
        if act.version is None:
            assert isinstance(act, Act)
            return await self.add(writer, act, now)
        stamped = _stamped(act, now)
        stored = await writer.replace(ACTS, stamped.document(), expected_version=act.version)
        return stamped.model_copy(update={"version": stored[VERSION]})

    async def save_unstamped(self, writer: DocumentWriter, tombstone: Tombstone) -> Tombstone:
        """Bookkeeping that is no change an office polls for (the objects' deletion)."""
        assert tombstone.version is not None
        stored = await writer.replace(
            ACTS, tombstone.document(), expected_version=tombstone.version
        )
        return tombstone.model_copy(update={"version": stored[VERSION]})


def _stamped(act: R, now: datetime) -> R:
    updated = to_iso(now)
    return act.model_copy(update={"updated_at": now, "cursor": f"{updated}|{act.id}"})
