"""Group commit on the real bus: a batch that fails to commit leaves no trace, every message of
it is handled again (one by one, so that the bad one cannot fail its neighbours again), and each
event ends up journaled once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from audit.consumers import JOURNAL_QUEUE, journal_subscription
from audit.service import INDEXES, JOURNAL
from audit.vault import PAYLOADS
from audit.verify import verify_journal
from shared.clock import ManualClock, SystemClock
from shared.contracts.envelope import Envelope
from shared.crypto import SigningKey, SigningKeyRing
from shared.ids import new_id
from shared.messaging.batch import BatchConsumer
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.consumer import RetryPolicy, start_consuming
from shared.messaging.topology import Topology
from shared.store.port import DocumentStore
from tests.support.services import eventually
from tests.unit.audit.conftest import ORIGIN, Audit, build_audit
from tests.unit.audit.faults import FaultyStore

EVENTS = 40
FAST_RETRY = RetryPolicy(
    max_attempts=5, first_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1)
)


def marker(seq: int) -> Envelope:
    now = SystemClock().now()
    return Envelope(
        event_id=new_id(now),
        type="loadtest.marked.v1",
        schema_version=1,
        occurred_at=now,
        producer="loadtest",
        producer_seq=seq,
        subject=f"test:batch-{seq % 5}",
        actor="service:loadtest",
        correlation_id=f"batch-{seq}",
        payload={"n": seq},
    )


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url)
    yield broker
    await broker.stop()


async def test_a_failed_batch_is_retried_message_by_message_and_journaled_once(
    sqlite_store: DocumentStore,
    tmp_path: Path,
    bus_prefix: str,
    broker: RabbitBroker,
    amqp_url: str,
) -> None:
    await sqlite_store.ensure_indexes(INDEXES)
    store = FaultyStore(sqlite_store)
    clock = ManualClock(SystemClock().now())
    audit = build_audit(store, clock, tmp_path, SigningKeyRing(SigningKey.generate(ORIGIN)))
    subscription = journal_subscription(audit.journal, prefetch=EVENTS)
    handled: Counter[str] = Counter()

    async def counted(envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            handled[envelope.event_id] += 1
        await subscription.handler(envelopes)

    topology = Topology(bus_prefix)
    consumer = BatchConsumer(
        broker, topology, dataclasses.replace(subscription, handler=counted), FAST_RETRY
    )
    await broker.connect()
    await start_consuming(broker, topology, [])
    await consumer.declare()
    await consumer.start()

    markers = [marker(seq) for seq in range(1, EVENTS + 1)]
    doomed = markers[EVENTS // 2].event_id
    # The first batch waits before its commit while the rest of the messages pile up behind
    # it; the next batch, holding most of them, fails on one payload.
    store.hold_commit = asyncio.Event()
    store.fail_insert = lambda collection, doc: collection == PAYLOADS and doc["_id"] == doomed
    publisher = EventPublisher(broker, topology)
    for envelope in markers:
        await publisher.publish(envelope)

    async def all_delivered() -> bool:
        # Nothing left ready in the queue: the rest waits in the consumer, behind the batch
        # being committed (the prefetch covers them all).
        return await _ready(amqp_url, topology.queue_name(JOURNAL_QUEUE)) == 0

    try:
        await eventually(all_delivered, within=20, every=0.05)
        await store.holding.wait()
        store.hold_commit.set()
        await _check_journaled_once(sqlite_store, store, audit, handled, markers, doomed)
    finally:
        store.hold_commit.set()  # a failed wait must not leave the writer held at teardown
        await consumer.stop()


async def _ready(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def _check_journaled_once(
    sqlite_store: DocumentStore,
    store: FaultyStore,
    audit: Audit,
    handled: Counter[str],
    markers: list[Envelope],
    doomed: str,
) -> None:
    async def all_journaled() -> bool:
        return await sqlite_store.count(JOURNAL) == EVENTS

    await eventually(all_journaled, within=30, every=0.1)
    await asyncio.sleep(0.3)  # a stray redelivery would show up now

    assert store.rolled_back == 1
    assert [doc["_id"] for _, doc in store.failed_inserts] == [doomed]
    (failed_batch,) = store.rolled_back_event_ids
    assert doomed in failed_batch
    assert len(failed_batch) > 1
    # Every message of the rolled-back batch was handled again, the others once.
    retried = {event_id for event_id, count in handled.items() if count == 2}
    assert retried == set(failed_batch)
    assert set(handled.values()) <= {1, 2}
    committed = [event_id for batch in store.batch_event_ids for event_id in batch]
    assert sorted(committed) == sorted(m.event_id for m in markers)
    entries = await sqlite_store.find(JOURNAL, sort=[("index", 1)])
    assert sorted(e["producer_seq"] for e in entries) == list(range(1, EVENTS + 1))
    assert len({e["event_id"] for e in entries}) == EVENTS
    assert audit.journal.stats.duplicates == 0
    report = await verify_journal(sqlite_store, [])
    assert not report.findings
