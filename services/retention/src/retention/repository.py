"""Retention's collections, their indexes, and one small repository per record type on the
document store port: typed reads, `add` for a new record, `save` for one read earlier (at the
version read: a concurrent change raises `VersionConflictError`).

Collections (retention's own store):

- `schedules`: one per (subject, purpose) — the id is the pair and a unique index backs it;
  `state` pending → fired; `held` mirrors the holds on its subjects; `due_at` ISO UTC.
- `holds`: one per judicial request (id, subject, reference); a subject is held while any
  of its holds remains.
- `erasures`: one per fired erasure schedule (`retention.erasure`).
- `contacts`: the account's e-mail, captured from consent's and identity's events *before* any
  purge (identity's termination event does not carry it); deleted once the certificate is out.
- `served_acts`: ids, fingerprints and dates of acts served to each account (no content), to
  check delivery's erasure list is complete.
- `certificates`: issued certificates (wrapped DEKs of the encrypted S3 objects, hashed
  download token, fingerprint); unique per erasure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Generic, TypeVar

from retention.erasure import Erasure, ErasureState
from retention.records import (
    Certificate,
    Contact,
    Hold,
    Lookup,
    Schedule,
    ScheduleState,
    ServedAct,
    Stored,
)
from shared.clock import Clock
from shared.metrics import Sample
from shared.store.port import (
    DocumentReader,
    DocumentWriter,
    Filter,
    Index,
    SortKey,
    to_iso,
)

SCHEDULES: Final = "schedules"
HOLDS: Final = "holds"
ERASURES: Final = "erasures"
CONTACTS: Final = "contacts"
SERVED_ACTS: Final = "served_acts"
CERTIFICATES: Final = "certificates"
LOOKUPS: Final = "lookups"

INDEXES: Final = (
    Index(SCHEDULES, ("subject", "purpose"), unique=True),
    Index(SCHEDULES, ("state", "held", "due_at")),
    Index(SCHEDULES, ("related_subject",)),
    Index(HOLDS, ("subject",)),
    Index(ERASURES, ("state", "deadline")),
    Index(ERASURES, ("declaration_id",)),
    Index(SERVED_ACTS, ("account_id",)),
    Index(LOOKUPS, ("declaration_id",)),
    Index(CERTIFICATES, ("erasure_id",), unique=True),
)


R = TypeVar("R", bound=Stored)


class Repository(Generic[R]):
    """Typed access to one collection. `db` is the store or an open transaction."""

    collection: str
    model: type[R]

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def get(self, db: DocumentReader, record_id: str) -> R | None:
        document = await db.get(self.collection, record_id)
        return None if document is None else self.model.from_document(document)

    async def find(
        self,
        db: DocumentReader,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[R]:
        rows = await db.find(self.collection, where, sort=sort, limit=limit)
        return [self.model.from_document(row) for row in rows]

    async def add(self, db: DocumentWriter, record: R) -> R:
        """Insert a new record; `DuplicateKeyError` if its id (or a unique key) exists."""
        stamped = record.model_copy(update={"updated_at": self._clock.now()})
        return self.model.from_document(await db.insert(self.collection, stamped.document()))

    async def save(self, db: DocumentWriter, record: R) -> R:
        """Replace a record read earlier, if still at the version read."""
        if record.version is None:
            raise ValueError(f"{self.collection}/{record.id} was never read: add it instead")
        stamped = record.model_copy(update={"updated_at": self._clock.now()})
        saved = await db.replace(
            self.collection, stamped.document(), expected_version=record.version
        )
        return self.model.from_document(saved)

    async def remove(self, db: DocumentWriter, record: R) -> bool:
        """Delete a record read earlier, if still at the version read."""
        return await db.delete(self.collection, record.id, expected_version=record.version)


class ScheduleRepository(Repository[Schedule]):
    collection = SCHEDULES
    model = Schedule

    async def due(self, db: DocumentReader, now: datetime, limit: int) -> list[Schedule]:
        """Pending, unheld schedules due at `now`, earliest first."""
        return await self.find(
            db,
            {"state": ScheduleState.PENDING.value, "held": False, "due_at": {"$lte": to_iso(now)}},
            sort=[("due_at", 1), ("_id", 1)],
            limit=limit,
        )

    async def pending_naming(self, db: DocumentReader, subject: str) -> list[Schedule]:
        """Pending schedules of `subject`, or related to it."""
        found: list[Schedule] = []
        for field in ("subject", "related_subject"):
            found += await self.find(db, {field: subject, "state": ScheduleState.PENDING.value})
        return found

    async def hold_pending(self, db: DocumentWriter, subject: str) -> None:
        """Mark held every pending schedule of `subject` or related to it (no read needed)."""
        for field in ("subject", "related_subject"):
            await db.update(
                self.collection,
                {field: subject, "state": ScheduleState.PENDING.value},
                {"held": True},
            )

    async def naming(self, db: DocumentReader, subject: str) -> list[Schedule]:
        """Every schedule of `subject` or related to it, by due date."""
        found: list[Schedule] = []
        for field in ("subject", "related_subject"):
            found += await self.find(db, {field: subject}, sort=[("due_at", 1)])
        return sorted(found, key=lambda s: (s.due_at, s.id))


class ErasureRepository(Repository[Erasure]):
    collection = ERASURES
    model = Erasure

    async def in_state(self, db: DocumentReader, state: ErasureState, limit: int) -> list[Erasure]:
        return await self.find(db, {"state": state.value}, sort=[("_id", 1)], limit=limit)

    async def count_in_state(self, db: DocumentReader, state: ErasureState) -> int:
        return await db.count(self.collection, {"state": state.value})

    async def unalerted_past_deadline(
        self, db: DocumentReader, now: datetime, limit: int
    ) -> list[Erasure]:
        """Erasures not completed whose deadline has come and whose alert has not gone out,
        earliest first."""
        unfinished = [ErasureState.IN_PROGRESS.value, ErasureState.CONFIRMED.value]
        return await self.find(
            db,
            {"state": {"$in": unfinished}, "alerted": False, "deadline": {"$lte": to_iso(now)}},
            sort=[("deadline", 1)],
            limit=limit,
        )

    async def of_declaration(self, db: DocumentReader, declaration_id: str) -> list[Erasure]:
        return await self.find(db, {"declaration_id": declaration_id})


class HoldRepository(Repository[Hold]):
    collection = HOLDS
    model = Hold

    async def of_subject(self, db: DocumentReader, subject: str) -> list[Hold]:
        return await self.find(db, {"subject": subject}, sort=[("placed_at", 1)])

    async def any_on(self, db: DocumentReader, subjects: Sequence[str]) -> bool:
        return bool(subjects) and bool(
            await db.find(self.collection, {"subject": {"$in": list(subjects)}}, limit=1)
        )


class ContactRepository(Repository[Contact]):
    collection = CONTACTS
    model = Contact

    async def forget(self, db: DocumentWriter, key: str) -> None:
        await db.delete(self.collection, key)


class ServedActRepository(Repository[ServedAct]):
    collection = SERVED_ACTS
    model = ServedAct

    async def of_account(self, db: DocumentReader, account_id: str) -> list[ServedAct]:
        return await self.find(db, {"account_id": account_id})


class LookupRepository(Repository[Lookup]):
    collection = LOOKUPS
    model = Lookup

    async def of_declaration(self, db: DocumentReader, declaration_id: str) -> list[Lookup]:
        return await self.find(db, {"declaration_id": declaration_id})


class CertificateRepository(Repository[Certificate]):
    collection = CERTIFICATES
    model = Certificate


async def erasure_backlog(db: DocumentReader, now: datetime) -> tuple[int, int]:
    """(due, overdue) for metrics: schedules due and not fired plus erasures not finished
    (overdue included), and the erasures not finished past their deadline. Indexed counts."""
    unfinished = [ErasureState.IN_PROGRESS.value, ErasureState.CONFIRMED.value]
    fired_late = await db.count(
        SCHEDULES,
        {"state": ScheduleState.PENDING.value, "held": False, "due_at": {"$lte": to_iso(now)}},
    )
    running = await db.count(ERASURES, {"state": {"$in": unfinished}})
    overdue = await db.count(
        ERASURES, {"state": {"$in": unfinished}, "deadline": {"$lte": to_iso(now)}}
    )
    return fired_late + running, overdue


async def erasure_samples(db: DocumentReader, now: datetime) -> list[Sample]:
    """The `erasures.due` and `erasures.overdue` gauges' values (the runtime samples them)."""
    due, overdue = await erasure_backlog(db, now)
    return [Sample("erasures_due", due), Sample("erasures_overdue", overdue)]
