"""Consumers as handler tables: the queue is bound to exactly the table's contracts, each event
reaches its contract's handler decoded and inside the inbox transaction, once; a type the table
does not bind, an unregistered type or a malformed payload is refused for the dead-letter queue
before anything is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.clock import ManualClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.platform import AuditStartedV1, DeliveryStartedV1, NotifyStartedV1
from shared.contracts.registry import UnknownEventTypeError
from shared.messaging.consumer import PermanentFailure
from shared.messaging.handlers import HandlerTable, on, queues
from shared.messaging.inbox import INBOX, INBOX_INDEXES, Inbox
from shared.store.port import DocumentStore, Transaction

NOW = datetime(2031, 9, 1, 12, 0, tzinfo=UTC)
SEEN = "seen"


class Recorder:
    """The use cases a table's handlers receive: records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []


async def delivery_started(
    r: Recorder, tx: Transaction, event: DeliveryStartedV1, envelope: Envelope
) -> None:
    r.calls.append(("delivery", event.instance_id, envelope.event_id))
    await tx.insert(SEEN, {"_id": envelope.event_id})


async def notify_started(
    r: Recorder, tx: Transaction, event: NotifyStartedV1, envelope: Envelope
) -> None:
    r.calls.append(("notify", event.instance_id, envelope.event_id))
    await tx.insert(SEEN, {"_id": envelope.event_id})


TABLE = HandlerTable[Recorder](
    "audit.starts", (on(DeliveryStartedV1, delivery_started), on(NotifyStartedV1, notify_started))
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def inbox(sqlite_store: DocumentStore, clock: ManualClock) -> Inbox:
    await sqlite_store.ensure_indexes(INBOX_INDEXES)
    return Inbox(sqlite_store, TABLE.queue, clock)


def envelope_of(clock: ManualClock, payload: DeliveryStartedV1 | NotifyStartedV1) -> Envelope:
    return new_envelope(payload, subject="service:x", actor="service:x", clock=clock)


def test_the_queue_is_bound_to_exactly_the_tables_contracts(inbox: Inbox) -> None:
    assert TABLE.bindings == (DeliveryStartedV1.routing_key(), NotifyStartedV1.routing_key())
    assert queues([TABLE]) == {"audit.starts": TABLE.bindings}
    subscription = TABLE.subscription(Recorder(), inbox)
    assert (subscription.queue, subscription.bindings) == (TABLE.queue, TABLE.bindings)


def test_a_contract_bound_twice_or_a_queue_with_two_tables_is_refused() -> None:
    with pytest.raises(ValueError, match="bound twice"):
        HandlerTable[Recorder](
            "audit.starts",
            (on(DeliveryStartedV1, delivery_started), on(DeliveryStartedV1, delivery_started)),
        )
    with pytest.raises(ValueError, match="two tables"):
        queues([TABLE, TABLE])


async def test_each_event_reaches_its_contracts_handler_decoded_and_once(
    inbox: Inbox, sqlite_store: DocumentStore, clock: ManualClock
) -> None:
    recorder = Recorder()
    processed: list[str] = []
    subscription = TABLE.subscription(recorder, inbox, processed=lambda e: processed.append(e.type))
    delivery = envelope_of(
        clock, DeliveryStartedV1(service="delivery", instance_id="d-1", release="1")
    )
    notify = envelope_of(clock, NotifyStartedV1(service="notify", instance_id="n-1", release="1"))

    await subscription.handler(delivery)
    await subscription.handler(notify)
    await subscription.handler(delivery)  # redelivered: no second effect

    assert recorder.calls == [
        ("delivery", "d-1", delivery.event_id),
        ("notify", "n-1", notify.event_id),
    ]
    assert processed == [delivery.type, notify.type]
    assert await sqlite_store.count(SEEN) == 2
    assert await sqlite_store.count(INBOX) == 2


async def test_an_unbound_unknown_or_malformed_event_is_refused_before_any_write(
    inbox: Inbox, sqlite_store: DocumentStore, clock: ManualClock
) -> None:
    subscription = TABLE.subscription(Recorder(), inbox)
    unbound = new_envelope(
        AuditStartedV1(service="audit", instance_id="a-1", release="1"),
        subject="service:audit",
        actor="service:audit",
        clock=clock,
    )
    with pytest.raises(PermanentFailure, match=r"is not bound to audit\.starts"):
        await subscription.handler(unbound)
    unknown = unbound.model_copy(update={"type": "nobody.nothing-happened.v1"})
    with pytest.raises(UnknownEventTypeError):
        await subscription.handler(unknown)
    delivery = envelope_of(
        clock, DeliveryStartedV1(service="delivery", instance_id="d-1", release="1")
    )
    malformed = delivery.model_copy(update={"payload": {"service": "delivery"}})
    with pytest.raises(ValidationError):
        await subscription.handler(malformed)
    assert await sqlite_store.count(INBOX) == 0


async def test_an_exclusive_section_is_held_around_the_inbox_transaction(
    inbox: Inbox, clock: ManualClock
) -> None:
    lock = asyncio.Lock()
    held: list[bool] = []

    @asynccontextmanager
    async def exclusive() -> AsyncIterator[None]:
        async with lock:
            yield

    async def check(r: Recorder, tx: Transaction, event: DeliveryStartedV1, e: Envelope) -> None:
        held.append(lock.locked())

    table = HandlerTable[Recorder]("audit.starts", (on(DeliveryStartedV1, check),))
    delivery = envelope_of(
        clock, DeliveryStartedV1(service="delivery", instance_id="d-1", release="1")
    )
    assert await table.apply(Recorder(), inbox, delivery, exclusive=exclusive) is True
    assert await table.apply(Recorder(), inbox, delivery, exclusive=exclusive) is False
    assert held == [True]
    assert not lock.locked()
