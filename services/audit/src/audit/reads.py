"""Reading the journal: entries in journal order, and an entry's payload for whoever may read
it. Everything but payloads is public: a third party verifies the log with the checkpoints, the
leaves and the proofs alone. A payload is shown to the operator, and to the offices and
recipients that may read that very entry (`audit.domain`: its own parties and, unless it is a
consultation, its subject's owners); anonymous callers get the leaf fields only.

`payload_state` says why a payload is or is not shown: `available`, `withheld` (not for this
caller), `shredded` (its subject's key is destroyed), `absent` (never kept) or `corrupt` (kept
but fails its integrity check: `securact-audit verify` names every such index).
"""

from __future__ import annotations

from typing import Final, cast

from audit.context import Context
from audit.domain import JournalEntry, entry_leaf_hash
from audit.errors import EntryNotFound
from audit.vault import OpenedPayload, PayloadState, StoredPayload
from audit.views import EntryDetail, EntryPage
from shared.auth import Principal

OPERATOR_ROLES: Final = frozenset({"operator"})
OFFICE_ROLES: Final = frozenset({"office", "bailiff"})
RECIPIENT_ROLES: Final = frozenset({"recipient"})


def may_read_payload(principal: Principal | None, readers: frozenset[str]) -> bool:
    """Operators read every payload; an office or recipient only those of the entries it is
    a reader of (`audit.vault.StoredPayload.readers`)."""
    if principal is None or principal.role is None:
        return False
    if principal.role in OPERATOR_ROLES:
        return True
    if principal.role in OFFICE_ROLES and principal.office_id:
        return f"office:{principal.office_id}" in readers
    if principal.role in RECIPIENT_ROLES:
        return f"recipient:{principal.subject}" in readers
    return False


def _detail(entry: JournalEntry, state: PayloadState) -> EntryDetail:
    # The entry's fields as they are, its leaf hash, and the payload's state.
    leaf_hash = entry_leaf_hash(entry).hex()
    return cast(EntryDetail, {**entry, "leaf_hash": leaf_hash, "payload_state": state})


class Reads:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def entry(self, index: int) -> JournalEntry | None:
        return await self.ctx.entries.get(index)

    async def existing(self, index: int) -> JournalEntry:
        """The entry at `index`; EntryNotFound if the journal has none."""
        entry = await self.ctx.entries.get(index)
        if entry is None:
            raise EntryNotFound(index)
        return entry

    async def entries(
        self,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        after: int = -1,
        limit: int = 100,
    ) -> list[JournalEntry]:
        """Entries in journal order after `after`, filtered by exact subject, type and event id."""
        return await self.ctx.entries.page(
            subject=subject, event_type=event_type, event_id=event_id, after=after, limit=limit
        )

    async def page(
        self,
        *,
        subject: str | None,
        event_type: str | None,
        event_id: str | None,
        after: int,
        limit: int,
    ) -> EntryPage:
        entries = await self.entries(
            subject=subject, event_type=event_type, event_id=event_id, after=after, limit=limit
        )
        next_after = entries[-1]["index"] if len(entries) == limit else None
        return EntryPage(entries=entries, next_after=next_after)

    async def detail(self, index: int, principal: Principal | None) -> EntryDetail:
        """The entry and, if `principal` may read it, its payload: decided on this entry's
        readers before anything is decrypted."""
        entry = await self.existing(index)
        stored = await self.stored_payload(entry)
        if stored.shredded:
            return _detail(entry, PayloadState.SHREDDED)
        if not may_read_payload(principal, stored.readers()):
            return _detail(entry, PayloadState.WITHHELD)
        opened = await self.open_payload(stored)
        body = _detail(entry, opened.state)
        record = opened.record
        if opened.state is PayloadState.AVAILABLE and record is not None:
            body["payload"] = record["payload"]
            body["payload_salt"] = record["salt"]
            body["actor"] = record["actor"]
            body["correlation_id"] = record["correlation_id"]
            body["causation_id"] = record["causation_id"]
        return body

    async def payload(self, entry: JournalEntry) -> OpenedPayload:
        return await self.ctx.vault.open(self.ctx.store, entry)

    async def stored_payload(self, entry: JournalEntry) -> StoredPayload:
        """What is kept of the entry's payload and who may read it, nothing decrypted."""
        return await self.ctx.vault.stored(self.ctx.store, entry)

    async def open_payload(self, stored: StoredPayload) -> OpenedPayload:
        return await self.ctx.vault.open_stored(stored)

    async def owners(self, subject: str) -> frozenset[str]:
        return await self.ctx.vault.owners(self.ctx.store, subject)
