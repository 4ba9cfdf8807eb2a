"""Bounded retries and dead letters on the real broker.

The retry count travels in a header, so the bound holds on RabbitMQ 3.10 (no default delivery
limit) and on ≥ 4.3 (nack requeues not counted) alike.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from shared.clock import SystemClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.platform import NotifyStartedV1
from shared.contracts.registry import decode_payload
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.consumer import (
    ATTEMPT_HEADER,
    REASON_HEADER,
    EventConsumer,
    RetryPolicy,
    Subscription,
    start_consuming,
)
from shared.messaging.topology import Topology
from tests.support.services import eventually

FAST_RETRY = RetryPolicy(
    max_attempts=3, first_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1)
)


def _event(n: int) -> Envelope:
    payload = NotifyStartedV1(service="notify", instance_id=f"i-{n}", release="test")
    return new_envelope(payload, subject=f"test:{n}", actor="test", clock=SystemClock())


class Recorder:
    def __init__(self, poison_subject: str | None = None) -> None:
        self.handled: list[str] = []
        self.attempts_on_poison = 0
        self._poison = poison_subject

    async def __call__(self, envelope: Envelope) -> None:
        if envelope.subject == self._poison:
            self.attempts_on_poison += 1
            raise RuntimeError("this handler always fails on this message")
        decode_payload(envelope, NotifyStartedV1)  # unknown/mismatched types are permanent
        self.handled.append(envelope.subject)


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url)
    yield broker
    await broker.stop()


async def _start(
    broker: RabbitBroker, topology: Topology, recorder: Recorder, queue: str = "notify.test"
) -> EventConsumer:
    consumer = EventConsumer(
        broker, topology, Subscription(queue, ("notify.#", "other.#"), recorder), FAST_RETRY
    )
    consumer.register()
    await broker.connect()
    await start_consuming(broker, topology, [consumer])
    return consumer


async def _dead_letters(
    amqp_url: str, topology: Topology, queue: str, expected: int
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.get_queue(f"{topology.queue_name(queue)}.dlq", ensure=True)
        found: list[aio_pika.abc.AbstractIncomingMessage] = []
        for _ in range(200):
            message = await dlq.get(fail=False)
            if message is None:
                if len(found) >= expected:
                    break
                await asyncio.sleep(0.1)
                continue
            await message.ack()
            found.append(message)
        return found
    finally:
        await connection.close()


async def test_poison_message_reaches_dlq_after_bounded_attempts_while_others_flow(
    amqp_url: str, bus_prefix: str, broker: RabbitBroker
) -> None:
    topology = Topology(bus_prefix)
    recorder = Recorder(poison_subject="test:poison")
    await _start(broker, topology, recorder)
    publisher = EventPublisher(broker, topology)
    poison = _event(0).model_copy(update={"subject": "test:poison"})
    await publisher.publish(poison)
    for n in range(1, 21):
        await publisher.publish(_event(n))

    async def all_good_handled() -> bool:
        return len(recorder.handled) == 20

    await eventually(all_good_handled, within=20)
    dead = await _dead_letters(amqp_url, topology, "notify.test", expected=1)
    assert len(dead) == 1
    headers: dict[str, Any] = dict(dead[0].headers)
    assert json.loads(dead[0].body)["event_id"] == poison.event_id
    assert headers[ATTEMPT_HEADER] == FAST_RETRY.max_attempts
    assert "gave up after 3 attempts" in str(headers[REASON_HEADER])
    assert recorder.attempts_on_poison == FAST_RETRY.max_attempts
    assert "test:poison" not in recorder.handled


async def test_malformed_and_unknown_messages_are_dead_lettered_with_a_reason(
    amqp_url: str, bus_prefix: str, broker: RabbitBroker
) -> None:
    topology = Topology(bus_prefix)
    recorder = Recorder()
    await _start(broker, topology, recorder)
    events = topology.events
    await broker.publish(b"{not json", exchange=events, routing_key="notify.garbage.v1")
    half = _event(1).model_dump(mode="json")
    del half["producer"]
    half["payload"] = {"name": "Jean Dupont"}
    await broker.publish(json.dumps(half).encode(), exchange=events, routing_key="notify.x.v1")
    unknown = _event(2).model_copy(update={"type": "other.thing-happened.v1"})
    await broker.publish(
        unknown.model_dump_json().encode(), exchange=events, routing_key=unknown.type
    )
    # A valid event with an attempt header nobody can count with.
    odd = _event(4)
    await broker.publish(
        odd.model_dump_json().encode(),
        exchange=events,
        routing_key=odd.type,
        headers={ATTEMPT_HEADER: "twice"},
    )
    await EventPublisher(broker, topology).publish(_event(3))

    async def good_one_handled() -> bool:
        return recorder.handled == ["test:3"]

    await eventually(good_one_handled, within=20)
    dead = await _dead_letters(amqp_url, topology, "notify.test", expected=4)
    reasons = sorted(str(dict(m.headers)[REASON_HEADER]) for m in dead)
    assert len(reasons) == 4
    assert reasons[0] == "malformed attempt header"
    assert reasons[1].startswith("malformed")
    assert reasons[2].startswith("malformed")
    assert "producer" in reasons[2]
    assert reasons[3].startswith("unknown event type")
    assert all("Jean Dupont" not in reason for reason in reasons)
    # Dead-lettered at once: no retries for what no retry can fix.
    assert all(dict(m.headers)[ATTEMPT_HEADER] == 1 for m in dead)


async def test_a_consumer_never_runs_more_handlers_at_once_than_its_prefetch(
    amqp_url: str, bus_prefix: str, broker: RabbitBroker
) -> None:
    topology = Topology(bus_prefix)
    in_flight = 0
    peak = 0
    done: list[str] = []

    async def slow(envelope: Envelope) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        done.append(envelope.subject)

    consumer = EventConsumer(
        broker, topology, Subscription("notify.slow", ("notify.#",), slow, prefetch=2), FAST_RETRY
    )
    consumer.register()
    await broker.connect()
    await start_consuming(broker, topology, [consumer])
    publisher = EventPublisher(broker, topology)
    await asyncio.gather(*(publisher.publish(_event(n)) for n in range(20)))

    async def all_done() -> bool:
        return len(done) == 20

    await eventually(all_done, within=20)
    assert peak == 2, f"{peak} handlers ran at once with prefetch 2"
