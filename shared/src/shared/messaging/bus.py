"""Broker factory and the confirmed, persistent publication of envelopes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from aio_pika.abc import AbstractChannel
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker
from yarl import URL

from shared.contracts.envelope import Envelope
from shared.messaging.topology import Topology

CONTENT_TYPE = "application/json"


def create_broker(
    amqp_url: str,
    *,
    middlewares: Sequence[Any] = (),
    app_id: str = "securact",
    heartbeat_seconds: int | None = None,
) -> RabbitBroker:
    """A FastStream broker; its default channel publishes with confirms. Nothing connects
    until `start()`/`connect()`. `heartbeat_seconds` (unless the URL sets `heartbeat`) is the
    AMQP heartbeat asked of the server: a silent broker is declared dead after about twice it
    (RabbitMQ's default, 60 s, leaves a partitioned service "connected" for minutes)."""
    url = URL(amqp_url)
    if heartbeat_seconds is not None and "heartbeat" not in url.query:
        amqp_url = str(url.update_query(heartbeat=heartbeat_seconds))
    return RabbitBroker(
        amqp_url,
        middlewares=tuple(middlewares),
        app_id=app_id,
        # Confirms make `publish` return only once the broker has the message; with
        # `mandatory`, a message no queue would receive is returned and raises instead of
        # vanishing, so the outbox keeps it until its consumers' queues exist.
        default_channel=Channel(publisher_confirms=True, on_return_raises=True),
        # The platform's own logs carry the ids it needs; FastStream's per-message access
        # log would double them at INFO.
        log_level=10,
        graceful_timeout=10.0,
        # Handlers take the raw body (`raw_body`) and validate it as an `Envelope`: FastDepends'
        # per-message injection would add nothing but cost (a third of a consumer's CPU in the
        # bus benchmark, a worker-thread hop per message for a `RabbitMessage` parameter).
        apply_types=False,
    )


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """A subscriber's decoder: the body as received, for `Envelope.model_validate_json`."""
    return message.body


class EventPublisher:
    """Publishes envelopes to the events exchange: persistent, confirmed, routed by type."""

    def __init__(self, broker: RabbitBroker, topology: Topology) -> None:
        self._broker = broker
        self._exchange = topology.events

    async def publish(
        self, envelope: Envelope, *, headers: Mapping[str, str] | None = None
    ) -> None:
        """Return only once the broker confirmed the message (raises otherwise)."""
        await self._broker.publish(
            envelope.model_dump_json().encode(),
            exchange=self._exchange,
            routing_key=envelope.type,
            persist=True,
            mandatory=True,
            message_id=envelope.event_id,
            correlation_id=envelope.correlation_id,
            content_type=CONTENT_TYPE,
            message_type=envelope.type,
            headers=dict(headers or {}),
        )


class BrokerProbe:
    """Readiness of the broker by a round trip, not by the connection's own idea of its state
    (which stays "connected" through a partition until the heartbeat expires): a passive
    declare of the events exchange on a channel of its own, answered within `timeout`."""

    def __init__(self, broker: RabbitBroker, topology: Topology, *, timeout: float) -> None:
        self._broker = broker
        self._exchange = topology.events.name
        self._timeout = timeout
        self._channel: AbstractChannel | None = None

    async def answers(self) -> bool:
        try:
            await asyncio.wait_for(self._round_trip(), self._timeout)
        except Exception:
            self._drop()
            return False
        return True

    async def _round_trip(self) -> None:
        connection = await self._broker.connect()
        if self._channel is None or self._channel.is_closed:
            self._channel = await connection.channel(publisher_confirms=False)
        # On the AMQP channel itself: aio-pika answers a passive declare of an exchange it
        # knows from memory. Passive: nothing is created; a missing exchange (404) closes only
        # this channel.
        underlay = await self._channel.get_underlay_channel()
        await underlay.exchange_declare(self._exchange, passive=True)

    async def message_counts(self, queues: Sequence[str]) -> dict[str, int]:
        """Messages ready in each of `queues` (passive declares; a missing queue is left out).

        Bounded by the probe's timeout per queue; for metrics, not for readiness.
        """
        counts: dict[str, int] = {}
        for queue in queues:
            try:
                counts[queue] = await asyncio.wait_for(self._depth(queue), self._timeout)
            except Exception:
                # A 404 (not declared yet) or a timeout closes or spoils the channel.
                self._drop()
        return counts

    async def _depth(self, queue: str) -> int:
        connection = await self._broker.connect()
        if self._channel is None or self._channel.is_closed:
            self._channel = await connection.channel(publisher_confirms=False)
        underlay = await self._channel.get_underlay_channel()
        declared = await underlay.queue_declare(queue, passive=True)
        return int(declared.message_count or 0)

    def _drop(self) -> None:
        # A channel whose request timed out is not reused; closing it may itself wait on the
        # silent broker, so it is closed in the background, bounded.
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            task = asyncio.get_running_loop().create_task(_close(channel))
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            await _close(channel)


_CLOSING: set[asyncio.Task[None]] = set()


async def _close(channel: AbstractChannel) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(channel.close(), 5)
