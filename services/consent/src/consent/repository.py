"""Consent's collections, their indexes, and one repository per record on the store port.

- `declarations`: one `Declaration` each; a unique index on `live_key` makes a second live
  declaration for the same person impossible, without a check-then-insert window.
- `proofs`: each proof's metadata; `proof_keys`: their wrapped DEKs (`consent.proofs`).
- `consultations`: every registry lookup; `restriction_requests`: the person's GDPR requests.
- `lookup_rates`: per consulter (`office:<id>`, `judicial_authority:<client>`), the instants of
  its lookups in the last minute: the limit lives in the store, so every replica counts the
  same lookups.

Reads parse into the typed records; `add` inserts, `save` replaces at the version read (a
concurrent change is refused with `VersionConflictError`, never overwritten); both stamp
`updated_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Generic, TypeVar

from consent.declarations import (
    Consultation,
    Declaration,
    LookupWindow,
    Proof,
    Record,
    RestrictionRequest,
)
from shared.store.port import VERSION, DocumentReader, DocumentWriter, Filter, Index, SortKey
from shared.vault import PENDING_INDEX

DECLARATIONS: Final = "declarations"
PROOFS: Final = "proofs"
CONSULTATIONS: Final = "consultations"
RESTRICTIONS: Final = "restriction_requests"
LOOKUP_RATES: Final = "lookup_rates"

INDEXES: Final = (
    Index(DECLARATIONS, ("live_key",), unique=True),
    Index(DECLARATIONS, ("keys.person",)),
    Index(DECLARATIONS, ("keys.place",)),
    Index(DECLARATIONS, ("account_id",)),
    Index(DECLARATIONS, ("expires_at",)),
    Index(PROOFS, ("declaration_id",)),
    Index(CONSULTATIONS, ("declaration_id",)),
    Index(RESTRICTIONS, ("declaration_id",)),
    Index(RESTRICTIONS, ("state", "requested_at")),
    PENDING_INDEX,
)

R = TypeVar("R", bound=Record)


class Repository(Generic[R]):
    """One collection of records of type `model`, on the store or, per call, a transaction."""

    def __init__(self, store: DocumentReader, collection: str, model: type[R]) -> None:
        self._store = store
        self.collection = collection
        self._model = model

    async def get(self, record_id: str, reader: DocumentReader | None = None) -> R | None:
        found = await (reader or self._store).get(self.collection, record_id)
        return None if found is None else self._model.model_validate(found)

    async def find(
        self,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (("_id", 1),),
        limit: int | None = None,
        reader: DocumentReader | None = None,
    ) -> list[R]:
        rows = await (reader or self._store).find(self.collection, where, sort=sort, limit=limit)
        return [self._model.model_validate(row) for row in rows]

    async def add(self, writer: DocumentWriter, record: R, now: datetime) -> R:
        """Insert a new record (DuplicateKeyError if its id, or a unique key, exists)."""
        stamped = record.model_copy(update={"updated_at": now})
        stored = await writer.insert(self.collection, stamped.document())
        return stamped.model_copy(update={"version": stored[VERSION]})

    async def save(self, writer: DocumentWriter, record: R, now: datetime) -> R:
        """Replace the record at the version it was read (inserting it if it never was)."""
        if record.version is None:
            return await self.add(writer, record, now)
        stamped = record.model_copy(update={"updated_at": now})
        stored = await writer.replace(
            self.collection, stamped.document(), expected_version=record.version
        )
        return stamped.model_copy(update={"version": stored[VERSION]})

    async def delete(self, writer: DocumentWriter, record: R) -> None:
        await writer.delete(self.collection, record.id)


def declarations(store: DocumentReader) -> Repository[Declaration]:
    return Repository(store, DECLARATIONS, Declaration)


def proofs(store: DocumentReader) -> Repository[Proof]:
    return Repository(store, PROOFS, Proof)


def restrictions(store: DocumentReader) -> Repository[RestrictionRequest]:
    return Repository(store, RESTRICTIONS, RestrictionRequest)


def consultations(store: DocumentReader) -> Repository[Consultation]:
    return Repository(store, CONSULTATIONS, Consultation)


def lookup_windows(store: DocumentReader) -> Repository[LookupWindow]:
    return Repository(store, LOOKUP_RATES, LookupWindow)
