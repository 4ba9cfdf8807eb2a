"""`Emitter`: an event's envelope is stored with the state change of its transaction (or alone),
named after the service unless an actor is given, and a consequence inherits its cause's
correlation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.contracts.platform import DeliveryStartedV1
from shared.events import Emitter
from shared.messaging.outbox import OUTBOX, Outbox
from shared.store.port import DocumentStore

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
STARTED = DeliveryStartedV1(service="delivery", instance_id="i-1", release="1.0")


@pytest.fixture
def emitter(sqlite_store: DocumentStore) -> Emitter:
    clock = ManualClock(START)
    return Emitter(Outbox(sqlite_store, clock), clock, "delivery")


async def stored(store: DocumentStore) -> list[Envelope]:
    rows = await store.find(OUTBOX, sort=[("_id", 1)])
    return [Envelope.model_validate(row["envelope"]) for row in rows]


async def test_an_emitted_event_commits_with_its_transaction(
    emitter: Emitter, sqlite_store: DocumentStore
) -> None:
    async with emitter.outbox.transaction() as tx:
        await tx.insert("things", {"_id": "t-1"})
        envelope = await emitter.emit(tx, STARTED, subject="service:delivery")
    [kept] = await stored(sqlite_store)
    assert kept.event_id == envelope.event_id
    assert kept.actor == "service:delivery"
    assert kept.subject == "service:delivery"
    assert kept.occurred_at == START


async def test_an_event_whose_transaction_rolls_back_is_not_published(
    emitter: Emitter, sqlite_store: DocumentStore
) -> None:
    async def failing_change() -> None:
        async with emitter.outbox.transaction() as tx:
            await emitter.emit(tx, STARTED, subject="service:delivery")
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await stored(sqlite_store) == []


async def test_an_event_names_its_actor_and_inherits_its_causes_correlation(
    emitter: Emitter, sqlite_store: DocumentStore
) -> None:
    cause = emitter.envelope(STARTED, subject="service:delivery")
    emitted = await emitter.emit_alone(
        STARTED, subject="act:a-1", actor="office:etude-1", causation=cause
    )
    [kept] = await stored(sqlite_store)
    assert kept == emitted
    assert kept.actor == "office:etude-1"
    assert kept.causation_id == cause.event_id
    assert kept.correlation_id == cause.correlation_id
