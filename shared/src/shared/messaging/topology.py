"""Names and declarations of the bus (DESIGN §4).

One durable topic exchange for events, one direct exchange for dead letters, and per consumer a
quorum queue `<service>.<purpose>`, its dead-letter queue `<queue>.dlq` and a retry parking queue
`<queue>.retry` whose messages come back to the consumer when their per-message TTL expires. A
prefix isolates test runs that share one broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QuorumQueueArgs

from shared.messaging.platform_queues import load as load_platform_queues

EVENTS_EXCHANGE = "securact.events"
DEAD_LETTER_EXCHANGE = "securact.events.dlx"
# Safety net only: RabbitMQ counts redeliveries after a consumer crash or channel loss on
# every version; our own attempt counter bounds handler failures (see consumer.py).
BROKER_DELIVERY_LIMIT = 20

# Every consumer queue of the platform and the routing keys it needs. Each service declares all
# of them when it connects, so that no event published on a fresh broker falls into the void
# because its consumer has not started yet (RabbitMQ drops what no queue is bound to receive).
# Derived from the services' handler tables (`shared.messaging.platform_queues`, `make schemas`).
PLATFORM_QUEUES: dict[str, tuple[str, ...]] = load_platform_queues()


# Queues whose consumer must be one process at a time, even with several replicas: RabbitMQ's
# single-active-consumer delivers to one consumer and fails over to the next when it goes.
# Audit's journal appends to one Merkle tree in arrival order: one writer at a time. A queue's
# arguments cannot change once declared (PRECONDITION_FAILED), hence the new name `.v2`.
SINGLE_ACTIVE_CONSUMER: frozenset[str] = frozenset({"audit.journal.v2"})
# Queues an earlier build declared and this one no longer does; `delete_topology` removes them.
# An existing deployment moves what `audit.journal` still holds to `audit.journal.v2` (README,
# "Two replicas"): the journal drops an event id it already holds, so both copies are harmless.
RETIRED_QUEUES: tuple[str, ...] = ("audit.journal",)


@dataclass(frozen=True)
class Topology:
    """The concrete names for one deployment (or one isolated test run)."""

    prefix: str = ""

    @property
    def events(self) -> RabbitExchange:
        return RabbitExchange(
            f"{self.prefix}{EVENTS_EXCHANGE}", type=ExchangeType.TOPIC, durable=True
        )

    @property
    def dead_letters(self) -> RabbitExchange:
        return RabbitExchange(
            f"{self.prefix}{DEAD_LETTER_EXCHANGE}", type=ExchangeType.DIRECT, durable=True
        )

    def queue_name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def queue(self, name: str) -> RabbitQueue:
        full = self.queue_name(name)
        arguments: QuorumQueueArgs = {
            "x-dead-letter-exchange": self.dead_letters.name,
            "x-dead-letter-routing-key": full,
            "x-delivery-limit": BROKER_DELIVERY_LIMIT,
        }
        if name in SINGLE_ACTIVE_CONSUMER:
            arguments["x-single-active-consumer"] = True
        return RabbitQueue(full, queue_type=QueueType.QUORUM, durable=True, arguments=arguments)

    def dead_letter_queue(self, name: str) -> RabbitQueue:
        full = self.queue_name(name)
        return RabbitQueue(
            f"{full}.dlq", queue_type=QueueType.QUORUM, durable=True, routing_key=full
        )

    def retry_queue(self, name: str) -> RabbitQueue:
        full = self.queue_name(name)
        # Expired messages dead-letter through the default exchange straight back to the queue.
        return RabbitQueue(
            f"{full}.retry",
            durable=True,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": full},
        )


async def declare_platform_queues(broker: RabbitBroker, topology: Topology) -> None:
    """Declare every consumer queue of the platform (idempotent)."""
    for name, bindings in PLATFORM_QUEUES.items():
        await declare_consumer_queue(broker, topology, name, bindings)


async def declare_consumer_queue(
    broker: RabbitBroker, topology: Topology, name: str, bindings: tuple[str, ...]
) -> None:
    """Declare a consumer's queue, its DLQ and retry queue, and bind it to its routing keys.

    Idempotent: declaring what exists with the same arguments is a no-op in RabbitMQ.
    """
    events = await broker.declare_exchange(topology.events)
    dead_letters = await broker.declare_exchange(topology.dead_letters)
    queue = await broker.declare_queue(topology.queue(name))
    for key in bindings:
        await queue.bind(events, routing_key=key)
    dlq = await broker.declare_queue(topology.dead_letter_queue(name))
    await dlq.bind(dead_letters, routing_key=topology.queue_name(name))
    await broker.declare_queue(topology.retry_queue(name))


async def delete_topology(
    amqp_url: str, topology: Topology, *, extra_queues: tuple[str, ...] = ()
) -> list[str]:
    """Delete a prefix's platform queues (with their DLQ and retry queues), `extra_queues` and
    its exchanges; returns what could not be deleted. For isolated test runs and benchmarks:
    never call it on a production prefix."""
    import aio_pika

    names = [topology.queue_name(q) for q in (*PLATFORM_QUEUES, *RETIRED_QUEUES)]
    queues = [f"{n}{suffix}" for n in names for suffix in ("", ".dlq", ".retry")]
    queues += list(extra_queues)
    failed: list[str] = []
    connection = await aio_pika.connect(amqp_url)
    try:
        for name, is_queue in [(q, True) for q in queues] + [
            (topology.events.name, False),
            (topology.dead_letters.name, False),
        ]:
            # A failed operation closes its channel, so each deletion gets its own.
            channel = await connection.channel()
            try:
                if is_queue:
                    await channel.queue_delete(name)
                else:
                    await channel.exchange_delete(name)
            except aio_pika.exceptions.AMQPError:
                failed.append(name)
            finally:
                if not channel.is_closed:
                    await channel.close()
    finally:
        await connection.close()
    return failed
