"""Publication is confirmed, persistent, and refuses to drop an event nobody would receive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from shared.clock import SystemClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.platform import ConsentStartedV1
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology, declare_platform_queues


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url)
    await broker.connect()
    yield broker
    await broker.stop()


def _event() -> Envelope:
    payload = ConsentStartedV1(service="consent", instance_id="i", release="t")
    return new_envelope(payload, subject="test:pub", actor="test", clock=SystemClock())


async def test_unroutable_event_raises_instead_of_vanishing(
    broker: RabbitBroker, bus_prefix: str
) -> None:
    topology = Topology(bus_prefix)
    await broker.declare_exchange(topology.events)  # an exchange, but no queue bound yet
    with pytest.raises(Exception, match=r"(?i)unroutable|no_route|returned"):
        await EventPublisher(broker, topology).publish(_event())


async def test_published_event_is_persistent_and_lands_in_the_journal_queue(
    broker: RabbitBroker, bus_prefix: str, amqp_url: str
) -> None:
    topology = Topology(bus_prefix)
    await declare_platform_queues(broker, topology)
    envelope = _event()
    await EventPublisher(broker, topology).publish(envelope)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(topology.queue_name("audit.journal.v2"), ensure=True)
        # A single-active-consumer quorum queue refuses basic.get: consume it.
        async with queue.iterator() as messages:
            message = await asyncio.wait_for(anext(messages), 5)
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.routing_key == "consent.started.v1"
        assert message.message_id == envelope.event_id
        await message.ack()
    finally:
        await connection.close()
