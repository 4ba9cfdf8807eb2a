"""CPC 662-1 finalisation across a real restart: the finaliser's process is stopped in the
middle of an act's transaction, a new delivery instance opens the same SQLite database and
finishes the day, and two instances finalising at once on their own connections. Each act ends
with exactly one quality determination, at most one lettre simple, and one evidence record of
each."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from delivery.evidence import EVIDENCE, EvidenceType
from delivery.handover import Handover
from shared.legal_calendar import Territory
from shared.messaging.outbox import OUTBOX
from shared.store.port import Document, DocumentStore, Transaction
from tests.fixtures.stores import StoreFactory
from tests.support.store_wrappers import DelegatingStore, DelegatingTransaction
from tests.unit.delivery.conftest import Harness, build_delivery

DETERMINED = "delivery.service-quality-determined.v1"
LETTRE = "delivery.lettre-simple-due.v2"


def at(local: str) -> datetime:
    paris = Territory.METROPOLE.time_zone
    return datetime.fromisoformat(local).replace(tzinfo=paris).astimezone(UTC)


class _StallingTransaction(DelegatingTransaction):
    """A transaction that hangs on its owner's `stall_at`-th outbox insert, holding the
    database's write lock with part of an act's finalisation written, as a process does when
    it is killed at that instant."""

    def __init__(self, tx: Transaction, owner: StallingStore) -> None:
        super().__init__(tx)
        self._owner = owner

    async def insert(self, collection: str, document: Document) -> Document:
        if collection == OUTBOX:
            self._owner.outbox_inserts += 1
            if self._owner.outbox_inserts == self._owner.stall_at:
                self._owner.stalled.set()
                await asyncio.Event().wait()  # never set: only cancellation ends this
        return await self.inner.insert(collection, document)


class StallingStore(DelegatingStore):
    """The real store, except that its transactions stall at the `stall_at`-th outbox insert."""

    def __init__(self, store: DocumentStore, stall_at: int) -> None:
        super().__init__(store)
        self.stall_at = stall_at
        self.outbox_inserts = 0
        self.stalled = asyncio.Event()

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        @asynccontextmanager
        async def stalling() -> AsyncIterator[Transaction]:
            async with self.store.transaction() as tx:
                yield _StallingTransaction(tx, self)

        return stalling()


async def serve_day(harness: Harness, acts: int, *, read: Sequence[int] = ()) -> list[str]:
    """Serve `acts` acts on Tuesday 8 April 2031, open those whose index is in `read` the same
    evening, and move the clock past the end of that legal day."""
    ids = []
    for n in range(acts):
        harness.clock.set(at(f"2031-04-08T{10 + n}:00:00"))
        ids.append(await harness.served(key=f"k{n}"))
    harness.clock.set(at("2031-04-08T22:00:00"))
    for n in read:
        assert (await harness.download(ids[n])).status_code == 200
    harness.clock.set(at("2031-04-09T01:00:00"))
    return ids


async def new_instance(harness: Harness, store: DocumentStore, tmp_path: Path) -> Handover:
    """Another delivery process: its own store connection on the same database file, the same
    key files and object store."""
    return build_delivery(store, harness.clock, tmp_path, harness.objects).handover


async def assert_each_act_finalised_once(
    harness: Harness, ids: Sequence[str], read: Sequence[int]
) -> None:
    events = await harness.events()
    determined = Counter(e.payload["act_id"] for e in events if e.type == DETERMINED)
    letters = Counter(e.payload["act_id"] for e in events if e.type == LETTRE)
    assert determined == Counter(ids)
    unread = [act_id for n, act_id in enumerate(ids) if n not in read]
    assert letters == Counter(unread)
    evidence = await harness.store.find(EVIDENCE)
    kinds = Counter(
        (row["act_id"], row["record"]["type"])
        for row in evidence
        if row["record"]["type"]
        in {EvidenceType.QUALITY_DETERMINATION.value, EvidenceType.LETTRE_SIMPLE_TASK_ISSUED.value}
    )
    expected = Counter(
        [(i, EvidenceType.QUALITY_DETERMINATION.value) for i in ids]
        + [(i, EvidenceType.LETTRE_SIMPLE_TASK_ISSUED.value) for i in unread]
    )
    assert kinds == expected
    for n, act_id in enumerate(ids):
        act = await harness.act(act_id)
        assert act["quality"] == ("a_personne" if n in read else "a_domicile")


async def test_restart_in_the_middle_of_an_act_loses_nothing_and_duplicates_nothing(
    harness: Harness, sqlite_store_factory: StoreFactory, tmp_path: Path
) -> None:
    read = (1,)
    ids = await serve_day(harness, 5, read=read)
    # Acts finalise in service order: 0 (two events), 1 (read: one), 2 (two). The fifth outbox
    # insert is act 2's lettre simple, written after its act row and quality event.
    doomed = StallingStore(await sqlite_store_factory(), stall_at=5)
    first = asyncio.create_task((await new_instance(harness, doomed, tmp_path)).finalise_due())
    await asyncio.wait_for(doomed.stalled.wait(), timeout=10)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await doomed.close()

    # Acts 0 and 1 committed; act 2's half-written transaction left no trace.
    qualities = [(await harness.act(i))["quality"] for i in ids]
    assert qualities == ["a_domicile", "a_personne", None, None, None]
    assert Counter(e.type for e in await harness.events() if e.type in {DETERMINED, LETTRE}) == (
        Counter({DETERMINED: 2, LETTRE: 1})
    )

    restarted = await new_instance(harness, await sqlite_store_factory(), tmp_path)
    assert await restarted.finalise_due() == 3
    assert await restarted.finalise_due() == 0
    await assert_each_act_finalised_once(harness, ids, read)


async def test_two_instances_finalising_at_once_finalise_each_act_once(
    harness: Harness, sqlite_store_factory: StoreFactory, tmp_path: Path
) -> None:
    read = (0, 3)
    ids = await serve_day(harness, 6, read=read)
    instances = [
        await new_instance(harness, await sqlite_store_factory(), tmp_path) for _ in range(2)
    ]
    counts = await asyncio.gather(*(g.finalise_due() for g in instances))
    assert sum(counts) == len(ids)
    assert [await g.finalise_due() for g in instances] == [0, 0]
    await assert_each_act_finalised_once(harness, ids, read)
