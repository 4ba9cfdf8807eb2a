"""Audit's journal queue has one active consumer at a time: with two replicas subscribed, the
broker delivers to the first only, and to the other once the first is gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from shared.messaging.bus import create_broker
from shared.messaging.topology import SINGLE_ACTIVE_CONSUMER, Topology, declare_platform_queues


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[RabbitBroker]:
    broker = create_broker(amqp_url)
    await broker.connect()
    yield broker
    await broker.stop()


async def test_the_journal_queue_delivers_to_one_consumer_and_fails_over(
    broker: RabbitBroker, bus_prefix: str, amqp_url: str
) -> None:
    topology = Topology(bus_prefix)
    await declare_platform_queues(broker, topology)
    (journal,) = SINGLE_ACTIVE_CONSUMER
    received: dict[str, list[bytes]] = {"first": [], "second": []}
    first = await aio_pika.connect(amqp_url)
    second = await aio_pika.connect(amqp_url)
    try:
        for name, connection in (("first", first), ("second", second)):
            channel = await connection.channel()
            queue = await channel.get_queue(topology.queue_name(journal), ensure=True)

            async def on_message(
                message: aio_pika.abc.AbstractIncomingMessage, n: str = name
            ) -> None:
                received[n].append(message.body)
                await message.ack()

            await queue.consume(on_message)
        publisher = await first.channel()
        exchange = await publisher.get_exchange(topology.events.name)

        async def publish(body: bytes) -> None:
            await exchange.publish(aio_pika.Message(body), routing_key="consent.started.v1")

        for n in range(5):
            await publish(b"a%d" % n)
        await _until(lambda: len(received["first"]) == 5)
        assert received["second"] == []

        await first.close()  # the active replica goes: the other takes the queue
        publisher = await second.channel()
        exchange = await publisher.get_exchange(topology.events.name)
        for n in range(3):
            await publish(b"b%d" % n)
        await _until(lambda: len(received["second"]) == 3)
        assert received["first"] == [b"a%d" % n for n in range(5)]
    finally:
        await first.close()
        await second.close()


async def _until(condition: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "not within the delay"
        await asyncio.sleep(0.05)
