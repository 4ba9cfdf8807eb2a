"""The audit journal: exactly-once append, hash chain, tamper detection, queries."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import audit.service
from audit.domain import GENESIS_HASH, entry_hash, payload_digest
from audit.service import HEAD, INDEXES, JOURNAL, PAYLOADS, STATE, Head, Journal, entry_key
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.ids import new_id
from shared.store.port import DocumentStore
from tests.fixtures.stores import StoreFactory

START = datetime(2031, 2, 3, 9, 0, tzinfo=UTC)
PERSON = "Jean Dupont"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def store(sqlite_store: DocumentStore) -> DocumentStore:
    await sqlite_store.ensure_indexes(INDEXES)
    return sqlite_store


@pytest.fixture
def journal(store: DocumentStore, clock: ManualClock) -> Journal:
    return Journal(store, clock)


def event(
    clock: ManualClock,
    *,
    subject: str = "act:1",
    event_type: str = "delivery.act-served.v1",
    seq: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Envelope:
    now = clock.now()
    return Envelope(
        event_id=new_id(now),
        type=event_type,
        schema_version=1,
        occurred_at=now - timedelta(seconds=1),
        producer=event_type.split(".")[0],
        producer_seq=seq,
        subject=subject,
        actor="office:7",
        correlation_id="corr-1",
        payload=payload if payload is not None else {"recipient": PERSON, "pages": 3},
    )


async def fill(journal: Journal, clock: ManualClock, count: int) -> list[Envelope]:
    made = []
    for n in range(count):
        envelope = event(clock, subject=f"act:{n % 2}", seq=n + 1)
        assert await journal.append(envelope)
        made.append(envelope)
        clock.advance(timedelta(seconds=1))
    return made


async def stored(store: DocumentStore, index: int) -> dict[str, Any]:
    document = await store.get(JOURNAL, entry_key(index))
    assert document is not None
    return document


async def tamper(store: DocumentStore, index: int, **changes: Any) -> None:
    document = await stored(store, index)
    version = int(document.pop("_version"))
    document.update(changes)
    await store.replace(JOURNAL, document, expected_version=version)


# --- append ------------------------------------------------------------------------------


async def test_append_assigns_consecutive_indexes_and_chains_hashes(
    journal: Journal, clock: ManualClock
) -> None:
    made = await fill(journal, clock, 5)
    entries = await journal.entries()
    assert [entry["index"] for entry in entries] == [0, 1, 2, 3, 4]
    assert [entry["event_id"] for entry in entries] == [e.event_id for e in made]
    assert entries[0]["prev_hash"] == GENESIS_HASH
    for previous, entry in itertools.pairwise(entries):
        assert entry["prev_hash"] == previous["entry_hash"]
    for entry in entries:
        assert entry["entry_hash"] == entry_hash(entry)
    assert len({entry["entry_hash"] for entry in entries}) == 5
    assert await journal.head() == Head(5, entries[-1]["entry_hash"])


async def test_entry_keeps_the_envelope_fields_and_the_journaling_instant(
    journal: Journal, clock: ManualClock
) -> None:
    envelope = event(clock, seq=42)
    clock.advance(timedelta(seconds=30))
    await journal.append(envelope)
    entry = await journal.entry(0)
    assert entry is not None
    assert entry["event_id"] == envelope.event_id
    assert entry["type"] == "delivery.act-served.v1"
    assert entry["producer"] == "delivery"
    assert entry["producer_seq"] == 42
    assert entry["subject"] == "act:1"
    assert entry["actor"] == "office:7"
    assert entry["correlation_id"] == "corr-1"
    assert entry["causation_id"] is None
    assert entry["occurred_at"] == "2031-02-03T08:59:59.000000Z"
    assert entry["journaled_at"] == "2031-02-03T09:00:30.000000Z"
    assert not any(key.startswith("_") for key in entry)


async def test_the_same_event_twice_is_journaled_once(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    envelope = event(clock, seq=1)
    assert await journal.append(envelope) is True
    clock.advance(timedelta(seconds=5))
    assert await journal.append(envelope) is False
    # A relay republication carries the same event id: still a duplicate.
    assert await journal.append(envelope.with_seq(9)) is False
    assert (await journal.head()).size == 1
    assert await store.count(JOURNAL) == 1
    assert await store.count(PAYLOADS) == 1


async def test_concurrent_appends_still_form_one_chain(
    journal: Journal, clock: ManualClock
) -> None:
    envelopes = [event(clock, seq=n) for n in range(1, 21)]
    results = await asyncio.gather(*(journal.append(e) for e in envelopes + envelopes[:5]))
    assert results.count(True) == 20
    assert (await journal.head()).size == 20
    assert await journal.verify() is None


async def test_the_chain_continues_after_reopening_the_store(
    sqlite_store_factory: StoreFactory, clock: ManualClock
) -> None:
    first = await sqlite_store_factory()
    await first.ensure_indexes(INDEXES)
    await fill(Journal(first, clock), clock, 3)
    await first.close()

    reopened = Journal(await sqlite_store_factory(), clock)
    assert (await reopened.head()).size == 3
    assert await reopened.append(event(clock))
    assert (await reopened.head()).size == 4
    assert await reopened.verify() is None


# --- payloads ---------------------------------------------------------------------------


async def test_payload_is_stored_apart_and_only_its_digest_is_chained(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    envelope = event(clock, payload={"recipient": PERSON, "address": "1 rue de la Paix"})
    await journal.append(envelope)
    entry = await journal.entry(0)
    assert entry is not None
    assert "payload" not in entry
    assert PERSON not in json.dumps(entry)

    kept = await store.get(PAYLOADS, envelope.event_id)
    assert kept is not None
    assert kept["payload"] == envelope.payload
    assert entry["payload_sha256"] == payload_digest(kept["payload"])
    assert len(entry["payload_sha256"]) == 64


def test_the_payload_digest_ignores_key_order() -> None:
    assert payload_digest({"a": 1, "b": [1, 2]}) == payload_digest({"b": [1, 2], "a": 1})
    assert payload_digest({"a": 1}) != payload_digest({"a": 2})


async def test_removing_a_payload_does_not_break_the_chain(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    made = await fill(journal, clock, 3)
    assert await store.delete(PAYLOADS, made[1].event_id)
    assert await journal.verify() is None


# --- verify -----------------------------------------------------------------------------


async def test_an_intact_journal_verifies(journal: Journal, clock: ManualClock) -> None:
    assert await journal.verify() is None
    await fill(journal, clock, 7)
    assert await journal.verify() is None
    assert await journal.verify(batch=2) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "office:8"),
        ("subject", "act:999"),
        ("producer_seq", 99),
        ("journaled_at", "2031-02-03T09:00:02.000001Z"),
        ("payload_sha256", "ab" * 32),
        ("entry_hash", "cd" * 32),
        ("prev_hash", "ef" * 32),
    ],
)
async def test_a_changed_field_is_found_at_its_index(
    journal: Journal, clock: ManualClock, store: DocumentStore, field: str, value: Any
) -> None:
    await fill(journal, clock, 6)
    await tamper(store, 3, **{field: value})
    assert await journal.verify() == 3
    assert await journal.verify(batch=2) == 3


async def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    await fill(journal, clock, 6)
    document = await stored(store, 2)
    document["actor"] = "office:forged"
    await tamper(store, 2, actor="office:forged", entry_hash=entry_hash(document))
    assert await journal.verify() == 3


async def test_a_deleted_entry_is_found_at_its_index(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    await fill(journal, clock, 6)
    assert await store.delete(JOURNAL, entry_key(2))
    assert await journal.verify() == 2
    assert await journal.verify(batch=2) == 2


async def test_a_deleted_first_entry_is_found(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    await fill(journal, clock, 3)
    assert await store.delete(JOURNAL, entry_key(0))
    assert await journal.verify() == 0


async def test_swapped_entries_are_found(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    await fill(journal, clock, 5)
    one, two = await stored(store, 1), await stored(store, 2)
    swapped_one = {k: v for k, v in two.items() if k != "_version"} | {"_id": entry_key(1)}
    swapped_two = {k: v for k, v in one.items() if k != "_version"} | {"_id": entry_key(2)}
    # Indexes are unique: move them through a free slot.
    await store.delete(JOURNAL, entry_key(1))
    await store.delete(JOURNAL, entry_key(2))
    await store.insert(JOURNAL, swapped_one | {"index": 1})
    await store.insert(JOURNAL, swapped_two | {"index": 2})
    assert await journal.verify() == 1


async def test_a_deleted_last_entry_is_found(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    await fill(journal, clock, 4)
    assert await store.delete(JOURNAL, entry_key(3))
    assert await journal.verify() == 3


async def test_an_entry_missing_a_chained_field_is_found(
    journal: Journal, clock: ManualClock, store: DocumentStore
) -> None:
    await fill(journal, clock, 4)
    document = await stored(store, 1)
    version = int(document.pop("_version"))
    del document["actor"]
    await store.replace(JOURNAL, document, expected_version=version)
    assert await journal.verify() == 1


# --- queries ----------------------------------------------------------------------------


async def test_entries_filter_by_subject_type_after_and_limit_in_index_order(
    journal: Journal, clock: ManualClock
) -> None:
    kinds = [
        ("act:1", "delivery.act-served.v1"),
        ("act:2", "delivery.act-served.v1"),
        ("act:1", "notify.notice-sent.v1"),
        ("act:1", "delivery.act-served.v1"),
        ("act:2", "notify.notice-sent.v1"),
        ("act:1", "notify.notice-sent.v1"),
    ]
    for subject, event_type in kinds:
        await journal.append(event(clock, subject=subject, event_type=event_type))
        clock.advance(timedelta(seconds=1))

    def indexes(entries: list[dict[str, Any]]) -> list[int]:
        return [int(entry["index"]) for entry in entries]

    assert indexes(await journal.entries()) == [0, 1, 2, 3, 4, 5]
    assert indexes(await journal.entries(subject="act:1")) == [0, 2, 3, 5]
    assert indexes(await journal.entries(event_type="notify.notice-sent.v1")) == [2, 4, 5]
    assert indexes(await journal.entries(subject="act:1", event_type="notify.notice-sent.v1")) == [
        2,
        5,
    ]
    assert indexes(await journal.entries(after=2)) == [3, 4, 5]
    assert indexes(await journal.entries(subject="act:1", after=2, limit=1)) == [3]
    assert indexes(await journal.entries(limit=2)) == [0, 1]
    assert await journal.entries(subject="act:404") == []
    assert await journal.entries(after=5) == []


async def test_entries_pages_are_capped(
    journal: Journal, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(journal, clock, 5)
    monkeypatch.setattr(audit.service, "MAX_PAGE", 3)
    assert len(await journal.entries(limit=10_000)) == 3
    assert len(await journal.entries(limit=2)) == 2


async def test_entry_by_index(journal: Journal, clock: ManualClock) -> None:
    made = await fill(journal, clock, 2)
    second = await journal.entry(1)
    assert second is not None
    assert second["event_id"] == made[1].event_id
    assert await journal.entry(2) is None


async def test_head_of_an_empty_journal_is_genesis(journal: Journal, store: DocumentStore) -> None:
    assert await journal.head() == Head(0, GENESIS_HASH)
    assert await store.get(STATE, HEAD) is None
