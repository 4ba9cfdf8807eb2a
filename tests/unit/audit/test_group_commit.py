"""Group commit: appends waiting together are journaled in one transaction, in arrival order,
exactly once, and a caller hears back only after its entry is committed."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from audit import merkle
from audit.domain import entry_leaf_hash
from audit.gaps import ProducerSequence
from audit.service import (
    INDEXES,
    JOURNAL,
    NODES,
    PRODUCERS,
    STATE,
    TREE,
    JournalBatchError,
    JournalStateError,
)
from audit.vault import PAYLOADS, SUBJECT_KEYS
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.crypto import SigningKeyRing
from shared.store.port import DocumentStore, StoreUnavailableError
from tests.unit.audit.conftest import Audit, build_audit, event
from tests.unit.audit.faults import FaultyStore

COLLECTIONS = (JOURNAL, NODES, PAYLOADS, SUBJECT_KEYS, PRODUCERS)


@pytest.fixture
async def faulty(sqlite_store: DocumentStore) -> FaultyStore:
    await sqlite_store.ensure_indexes(INDEXES)
    return FaultyStore(sqlite_store)


def audit_on(
    store: FaultyStore,
    clock: ManualClock,
    tmp_path: Path,
    signer: SigningKeyRing,
    *,
    batch_size: int = 256,
) -> Audit:
    return build_audit(store, clock, tmp_path, signer, batch_size=batch_size)


async def append_together(audit: Audit, envelopes: list[Envelope]) -> list[Any]:
    """Hand every envelope to the journal before the writer runs: one batch per batch size."""
    return await asyncio.gather(
        *(audit.journal.append(e) for e in envelopes), return_exceptions=True
    )


async def snapshot(store: DocumentStore) -> dict[str, Any]:
    found: dict[str, Any] = {c: await store.find(c, sort=[("_id", 1)]) for c in COLLECTIONS}
    found[STATE] = await store.get(STATE, TREE)
    return found


async def test_appends_waiting_together_commit_in_one_transaction_per_batch(
    faulty: FaultyStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = audit_on(faulty, clock, tmp_path, signer, batch_size=4)
    envelopes = [event(clock, subject=f"act:{n % 3}", seq=n) for n in range(1, 11)]
    assert await append_together(audit, envelopes) == [True] * 10
    # 10 envelopes, at most 4 per transaction.
    assert faulty.committed == 3
    assert [len(batch) for batch in faulty.batch_event_ids] == [4, 4, 2]
    entries = await audit.journal.entries()
    assert [e["index"] for e in entries] == list(range(10))
    assert (await audit.journal.head()).root == merkle.root_of(
        [entry_leaf_hash(e) for e in entries]
    )
    assert await audit.store.count(NODES) == 10 + 5 + 2 + 1
    assert audit.journal.stats.appended == 10


async def test_entries_within_a_batch_follow_arrival_order(
    faulty: FaultyStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = audit_on(faulty, clock, tmp_path, signer, batch_size=8)
    sequences = list(range(1, 21))
    random.Random(7).shuffle(sequences)
    # Arrival order differs from producer order and from event id order.
    envelopes = [event(clock, subject=f"act:{seq % 4}", seq=seq) for seq in sequences]
    random.Random(8).shuffle(envelopes)
    await append_together(audit, envelopes)
    entries = await audit.journal.entries()
    assert [e["event_id"] for e in entries] == [e.event_id for e in envelopes]
    assert [b for batch in faulty.batch_event_ids for b in batch] == [e.event_id for e in envelopes]
    tracker = await audit.store.get(PRODUCERS, "delivery")
    assert tracker is not None
    assert ProducerSequence.from_document(tracker).contiguous == 20


async def test_a_batch_holding_the_same_event_twice_journals_it_once(audit: Audit) -> None:
    a, b, c = (event(audit.clock, seq=n) for n in (1, 2, 3))
    results = await append_together(audit, [a, b, a, c, b.with_seq(9)])
    assert results == [True, True, False, True, False]
    entries = await audit.journal.entries()
    assert [e["event_id"] for e in entries] == [a.event_id, b.event_id, c.event_id]
    assert await audit.store.count(NODES) == 3 + 1
    assert await audit.store.count(PAYLOADS) == 3
    assert audit.journal.stats.duplicates == 2
    # A dropped duplicate is not a producer sequence seen twice.
    assert audit.journal.stats.repeated_sequences == 0


async def test_an_event_journaled_by_an_earlier_batch_is_dropped_from_a_later_one(
    audit: Audit,
) -> None:
    first = event(audit.clock, seq=1)
    assert await audit.journal.append(first) is True
    later = [event(audit.clock, seq=2), first, event(audit.clock, seq=3)]
    assert await append_together(audit, later) == [True, False, True]
    entries = await audit.journal.entries()
    assert [e["event_id"] for e in entries] == [
        first.event_id,
        later[0].event_id,
        later[2].event_id,
    ]
    assert await audit.store.count(PAYLOADS) == 3
    assert audit.journal.stats.duplicates == 1
    assert audit.journal.stats.repeated_sequences == 0
    tracker = await audit.store.get(PRODUCERS, "delivery")
    assert tracker is not None
    assert ProducerSequence.from_document(tracker).contiguous == 3


async def test_a_batch_of_nothing_but_duplicates_changes_nothing(audit: Audit) -> None:
    journaled = [event(audit.clock, seq=n) for n in (1, 2)]
    await append_together(audit, journaled)
    before = await snapshot(audit.store)
    assert await append_together(audit, [*journaled, journaled[0]]) == [False] * 3
    assert await snapshot(audit.store) == before


async def test_a_failure_inside_a_batch_writes_nothing_of_it_and_fails_every_message(
    faulty: FaultyStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = audit_on(faulty, clock, tmp_path, signer)
    assert await audit.journal.append(event(clock, subject="act:0", seq=1)) is True
    before = await snapshot(faulty)
    # New subjects, a known one, producer tracking: the failure comes after all of them began.
    batch = [event(clock, subject=f"act:{n % 3}", seq=n) for n in range(2, 7)]
    doomed = batch[3].event_id
    faulty.fail_insert = lambda collection, doc: collection == PAYLOADS and doc["_id"] == doomed

    results = await append_together(audit, batch)

    assert faulty.failed_inserts, "the injected failure did not happen"
    assert all(isinstance(r, JournalBatchError) for r in results)
    assert all(isinstance(r.__cause__, StoreUnavailableError) for r in results)
    assert len({id(r) for r in results}) == len(results)  # one exception per message
    assert await snapshot(faulty) == before
    assert audit.journal.stats.appended == 1

    # Retried (the consumer's retry policy redelivers them), they are journaled once each.
    clock.advance(timedelta(seconds=2))
    assert await append_together(audit, batch) == [True] * 5
    entries = await audit.journal.entries()
    assert [e["producer_seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert (await audit.journal.head()).root == merkle.root_of(
        [entry_leaf_hash(e) for e in entries]
    )
    assert await audit.journal.root_at(6) == (await audit.journal.head()).root
    for envelope in batch:
        entry = await audit.store.find(JOURNAL, {"event_id": envelope.event_id})
        opened = await audit.journal.payload(entry[0])
        assert opened.record is not None
        assert opened.record["payload"] == envelope.payload


async def test_a_caller_hears_back_only_after_its_batch_commits(
    faulty: FaultyStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = audit_on(faulty, clock, tmp_path, signer)
    faulty.hold_commit = asyncio.Event()
    pending = asyncio.create_task(audit.journal.append(event(clock, seq=1)))
    await asyncio.wait_for(faulty.holding.wait(), 5)
    await asyncio.sleep(0.05)
    # Entry written inside the open transaction, not committed: the message is not acked yet.
    assert not pending.done()
    faulty.hold_commit.set()
    assert await asyncio.wait_for(pending, 5) is True
    assert faulty.committed == 1
    assert await faulty.count(JOURNAL) == 1


async def test_a_caller_that_gives_up_does_not_stop_the_others(
    faulty: FaultyStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = audit_on(faulty, clock, tmp_path, signer)
    faulty.hold_commit = asyncio.Event()
    envelopes = [event(clock, seq=n) for n in (1, 2, 3)]
    tasks = [asyncio.create_task(audit.journal.append(e)) for e in envelopes]
    await asyncio.wait_for(faulty.holding.wait(), 5)
    tasks[1].cancel()
    faulty.hold_commit.set()
    assert await tasks[0] is True
    assert await tasks[2] is True
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    # Its entry was committed all the same: the redelivered message is dropped as a duplicate.
    faulty.hold_commit = None
    assert await audit.journal.append(envelopes[1]) is False
    await audit.journal.drain()
    assert (await audit.journal.head()).size == 3


async def test_drain_waits_for_every_envelope_handed_over(
    faulty: FaultyStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = audit_on(faulty, clock, tmp_path, signer, batch_size=2)
    faulty.hold_commit = asyncio.Event()
    tasks = [asyncio.create_task(audit.journal.append(event(clock, seq=n))) for n in (1, 2, 3)]
    await asyncio.wait_for(faulty.holding.wait(), 5)
    draining = asyncio.create_task(audit.journal.drain())
    await asyncio.sleep(0.05)
    assert not draining.done()
    faulty.hold_commit.set()
    await asyncio.wait_for(draining, 5)
    assert all(task.done() for task in tasks)
    assert await faulty.count(JOURNAL) == 3


async def test_a_store_whose_entries_and_tree_disagree_is_refused_at_start(
    sqlite_store: DocumentStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    audit = build_audit(sqlite_store, clock, tmp_path, signer)
    await audit.journal.check_consistency()  # an empty journal is consistent
    # An entry left by an incompatible earlier build: no tree state covers it.
    await sqlite_store.insert(JOURNAL, {"_id": "000000000000", "index": 0, "event_id": "x"})
    with pytest.raises(JournalStateError, match="1 entries but its tree state says 0"):
        await audit.journal.check_consistency()
