"""Broker factory and the confirmed, persistent publication of envelopes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker

from shared.contracts.envelope import Envelope
from shared.messaging.topology import Topology

CONTENT_TYPE = "application/json"


def create_broker(
    amqp_url: str, *, middlewares: Sequence[Any] = (), app_id: str = "securact"
) -> RabbitBroker:
    """A FastStream broker; its default channel publishes with confirms. Nothing connects
    until `start()`/`connect()`."""
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
