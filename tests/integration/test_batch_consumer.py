"""The batch consumer on the real broker: the retry and dead-letter rules of `EventConsumer`,
one bad message never failing its neighbours, and the multiple ack leaving nothing behind."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from shared.clock import SystemClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.platform import NotifyStartedV1
from shared.messaging.batch import BatchConsumer, BatchSubscription
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.consumer import ATTEMPT_HEADER, REASON_HEADER, RetryPolicy, start_consuming
from shared.messaging.topology import Topology
from tests.support.services import eventually

FAST_RETRY = RetryPolicy(
    max_attempts=3, first_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1)
)
QUEUE = "notify.batches"


def _event(n: int) -> Envelope:
    payload = NotifyStartedV1(service="notify", instance_id=f"i-{n}", release="test")
    return new_envelope(payload, subject=f"test:{n}", actor="test", clock=SystemClock())


class Recorder:
    """Fails every batch that holds the poison subject; records what it handled."""

    def __init__(self, poison: str | None = None) -> None:
        self.handled: Counter[str] = Counter()
        self.calls: list[int] = []
        self.attempts_on_poison = 0
        self._poison = poison

    async def __call__(self, envelopes: Sequence[Envelope]) -> None:
        self.calls.append(len(envelopes))
        if any(e.subject == self._poison for e in envelopes):
            self.attempts_on_poison += 1
            raise RuntimeError("this handler always fails on this message")
        self.handled.update(e.subject for e in envelopes)


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url)
    yield broker
    await broker.stop()


@pytest.fixture
async def started(
    broker: RabbitBroker, bus_prefix: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Topology, Recorder, BatchConsumer]]:
    topology = Topology(bus_prefix)
    recorder = Recorder(poison=getattr(request, "param", None))
    consumer = BatchConsumer(
        broker,
        topology,
        BatchSubscription(QUEUE, ("notify.#",), recorder, prefetch=64, max_batch=32),
        FAST_RETRY,
    )
    await broker.connect()
    await start_consuming(broker, topology, [])
    await consumer.declare()
    await consumer.start()
    yield topology, recorder, consumer
    await consumer.stop()


async def _queue_depth(amqp_url: str, name: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(name, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def _dead_letters(amqp_url: str, topology: Topology, expected: int) -> list[Any]:
    connection = await aio_pika.connect(amqp_url)
    found: list[Any] = []
    try:
        channel = await connection.channel()
        dlq = await channel.get_queue(f"{topology.queue_name(QUEUE)}.dlq", ensure=True)

        async def arrived() -> bool:
            while (message := await dlq.get(fail=False)) is not None:
                await message.ack()
                found.append(message)
            return len(found) >= expected

        await eventually(arrived, within=20, every=0.1)
        return found
    finally:
        await connection.close()


@pytest.mark.parametrize("started", ["test:poison"], indirect=True)
async def test_a_poison_message_is_dead_lettered_alone_after_its_attempts(
    amqp_url: str, broker: RabbitBroker, started: tuple[Topology, Recorder, BatchConsumer]
) -> None:
    topology, recorder, consumer = started
    publisher = EventPublisher(broker, topology)
    poison = _event(0).model_copy(update={"subject": "test:poison"})
    good = [_event(n) for n in range(1, 41)]
    for envelope in [*good[:20], poison, *good[20:]]:
        await publisher.publish(envelope)

    async def all_good_handled() -> bool:
        return len(recorder.handled) == 40

    await eventually(all_good_handled, within=20)
    (dead,) = await _dead_letters(amqp_url, topology, expected=1)
    headers: dict[str, Any] = dict(dead.headers)
    assert json.loads(dead.body)["event_id"] == poison.event_id
    assert headers[ATTEMPT_HEADER] == FAST_RETRY.max_attempts
    assert "gave up after 3 attempts" in str(headers[REASON_HEADER])
    # Its neighbours were handled once each, never dead-lettered nor retried with it.
    assert set(recorder.handled.values()) == {1}
    assert "test:poison" not in recorder.handled
    await consumer.stop()  # whatever was left unacknowledged would now be ready again
    assert await _queue_depth(amqp_url, topology.queue_name(QUEUE)) == 0


async def test_malformed_messages_are_dead_lettered_and_the_batch_is_acknowledged(
    amqp_url: str, broker: RabbitBroker, started: tuple[Topology, Recorder, BatchConsumer]
) -> None:
    topology, recorder, consumer = started
    events = topology.events
    await broker.publish(b"{not json", exchange=events, routing_key="notify.garbage.v1")
    odd = _event(1)
    await broker.publish(
        odd.model_dump_json().encode(),
        exchange=events,
        routing_key=odd.type,
        headers={ATTEMPT_HEADER: "twice"},
    )
    publisher = EventPublisher(broker, topology)
    for n in range(2, 12):
        await publisher.publish(_event(n))

    async def all_good_handled() -> bool:
        return len(recorder.handled) == 10

    await eventually(all_good_handled, within=20)
    dead = await _dead_letters(amqp_url, topology, expected=2)
    reasons = sorted(str(dict(m.headers)[REASON_HEADER]) for m in dead)
    assert reasons[0] == "malformed attempt header"
    assert reasons[1].startswith("malformed")
    assert all(dict(m.headers)[ATTEMPT_HEADER] == 1 for m in dead)
    assert set(recorder.handled.values()) == {1}
    # Every message settled: once the consumer's channel is gone nothing comes back.
    await consumer.stop()
    assert await _queue_depth(amqp_url, topology.queue_name(QUEUE)) == 0
