"""Consumers with bounded retries that behave the same on RabbitMQ 3.10 and 4.x.

RabbitMQ ≥ 4.3 no longer counts `basic.nack` requeues toward `x-delivery-limit`, and 3.10 has no
default limit, so the attempt count travels with the message instead: a failed message is parked
in `<queue>.retry` with a growing per-message TTL and an incremented `x-securact-attempt` header,
then comes back to the queue when the TTL expires. After the last attempt — or at once for a
message no retry can fix (malformed, unknown type, `PermanentFailure`) — it is published to the
dead-letter exchange with the reason in a header and lands in `<queue>.dlq`. The original is
acknowledged only after that publication is confirmed, so a crash in between duplicates (which
the inbox absorbs) but never loses a message.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.message import RabbitMessage
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.contracts.registry import UnknownEventTypeError
from shared.messaging.bus import raw_body
from shared.messaging.topology import Topology, declare_consumer_queue, declare_platform_queues
from shared.metrics import instruments
from shared.telemetry import annotate, annotate_event

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-securact-attempt"
REASON_HEADER = "x-securact-reason"
QUEUE_HEADER = "x-securact-queue"
ROUTING_KEY_HEADER = "x-securact-routing-key"

Handler = Callable[[Envelope], Awaitable[None]]


class PermanentFailure(Exception):  # noqa: N818 - it names an outcome, not a bug
    """Retrying cannot help (the message is wrong, not the moment): dead-letter at once.

    The message must be safe to store with the message: no personal data.
    """


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a handler may fail on one message, and how long to wait in between."""

    max_attempts: int = 5
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)

    def delay(self, failed_attempt: int) -> timedelta:
        """Exponential backoff with 'equal jitter': between half and all of the step."""
        step = min(self.first_delay * (1 << min(failed_attempt - 1, 32)), self.max_delay)
        return step * (0.5 + random.random() / 2)


@dataclass(frozen=True)
class Subscription:
    """A consumer queue `<service>.<purpose>`, the routing keys it needs, and its handler."""

    queue: str
    bindings: tuple[str, ...]
    handler: Handler
    prefetch: int = 32


def _attempt_of(headers: dict[str, Any]) -> int | None:
    """The attempt this delivery is (1 without the header); None when the header is not a
    positive integer."""
    value = headers.get(ATTEMPT_HEADER, 1)
    if isinstance(value, bool):
        return None
    try:
        attempt = int(value)
    except (TypeError, ValueError):
        return None
    return attempt if attempt >= 1 else None


def _safe_reason(error: BaseException) -> str:
    """A reason fit for the DLQ header: the kind of failure, never the data that caused it."""
    if isinstance(error, ValidationError):
        # Only the top-level field: deeper path parts may be dict keys, which are data.
        fields = sorted({str(e["loc"][0]) if e["loc"] else "<root>" for e in error.errors()})
        return f"malformed: {error.error_count()} invalid field(s): {', '.join(fields)[:300]}"
    if isinstance(error, UnknownEventTypeError):
        return f"unknown event type: {str(error)[:200]}"
    if isinstance(error, PermanentFailure):
        return f"rejected: {str(error)[:300]}"
    return f"handler failed: {type(error).__name__}"


def _reason_kind(reason: str) -> str:
    """A bounded label for a dead-letter reason: its kind, not the fields or types it names."""
    for prefix, kind in (
        ("malformed", "malformed"),
        ("unknown event type", "unknown_type"),
        ("rejected", "rejected"),
        ("gave up", "gave_up"),
    ):
        if reason.startswith(prefix):
            return kind
    return "other"


class EventConsumer:
    """Runs one subscription's handler on each message with the retry and dead-letter rules."""

    def __init__(
        self,
        broker: RabbitBroker,
        topology: Topology,
        subscription: Subscription,
        retry: RetryPolicy,
    ) -> None:
        self._broker = broker
        self._topology = topology
        self._subscription = subscription
        self._retry = retry
        self._queue = topology.queue_name(subscription.queue)

    @property
    def queue(self) -> str:
        """The queue's full name (`<prefix><service>.<purpose>`)."""
        return self._queue

    def register(self) -> None:
        """Attach to the broker (before `broker.start()`); consumption starts with it."""
        subscriber = self._broker.subscriber(
            self._topology.queue(self._subscription.queue),
            channel=Channel(prefetch_count=self._subscription.prefetch),
            ack_policy=AckPolicy.MANUAL,
            decoder=raw_body,
        )
        subscriber(self._on_body)

    async def declare(self) -> None:
        """Declare queues and bindings (after `broker.connect()`)."""
        await declare_consumer_queue(
            self._broker, self._topology, self._subscription.queue, self._subscription.bindings
        )

    async def _on_body(self, body: bytes) -> None:
        # The broker does not inject parameters (see `create_broker`): the message itself comes
        # from FastStream's context.
        message: RabbitMessage = self._broker.context.get_local("message")
        await self._on_message(message)

    async def _on_message(self, message: RabbitMessage) -> None:
        headers: dict[str, Any] = dict(message.headers or {})
        attempt = _attempt_of(headers)
        if attempt is None:
            # Not ours to fix and never to retry: a header we cannot count with.
            await self._dead_letter(message, headers, 1, "malformed attempt header")
            return
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, headers, attempt, _safe_reason(error))
            return
        annotate_event(envelope.subject, envelope.type, envelope.payload)
        try:
            await self._subscription.handler(envelope)
        except (PermanentFailure, ValidationError, UnknownEventTypeError) as error:
            annotate(outcome="dead-lettered")
            log.warning(
                "dead-lettering %s from %s: %s",
                envelope.event_id,
                self._queue,
                _safe_reason(error),
            )
            await self._dead_letter(message, headers, attempt, _safe_reason(error))
            return
        except Exception as error:
            if attempt >= self._retry.max_attempts:
                log.error(
                    "dead-lettering %s from %s after %d attempts (%s)",
                    envelope.event_id,
                    self._queue,
                    attempt,
                    type(error).__name__,
                )
                reason = f"gave up after {attempt} attempts: {_safe_reason(error)}"
                annotate(outcome="dead-lettered")
                await self._dead_letter(message, headers, attempt, reason)
            else:
                log.warning(
                    "attempt %d of %s on %s failed (%s); retrying",
                    attempt,
                    envelope.event_id,
                    self._queue,
                    type(error).__name__,
                    exc_info=True,
                )
                annotate(outcome="retried")
                await self._park_for_retry(message, headers, attempt)
            return
        annotate(outcome="handled")
        await message.ack()

    async def _park_for_retry(
        self, message: RabbitMessage, headers: dict[str, Any], attempt: int
    ) -> None:
        headers[ATTEMPT_HEADER] = attempt + 1
        headers.setdefault(ROUTING_KEY_HEADER, message.raw_message.routing_key or "")
        instruments().messaging_retries.add(1, {"messaging.destination.name": self._queue})
        await self._broker.publish(
            message.body,
            queue=f"{self._queue}.retry",
            persist=True,
            expiration=self._retry.delay(attempt),
            headers=headers,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            content_type=message.content_type,
        )
        await message.ack()

    async def _dead_letter(
        self, message: RabbitMessage, headers: dict[str, Any], attempt: int, reason: str
    ) -> None:
        headers.update(
            {
                REASON_HEADER: reason,
                ATTEMPT_HEADER: attempt,
                QUEUE_HEADER: self._queue,
            }
        )
        headers.setdefault(ROUTING_KEY_HEADER, message.raw_message.routing_key or "")
        await self._broker.publish(
            message.body,
            exchange=self._topology.dead_letters,
            routing_key=self._queue,
            persist=True,
            headers=headers,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            content_type=message.content_type,
        )
        instruments().messaging_dead_letters.add(
            1, {"messaging.destination.name": self._queue, "error.type": _reason_kind(reason)}
        )
        await message.ack()


async def start_consuming(
    broker: RabbitBroker, topology: Topology, consumers: Sequence[EventConsumer]
) -> None:
    """Start the broker's subscribers, then declare the platform's queues and bindings.

    The order matters: FastStream caches declared queues by name, and a queue declared before
    `start()` on the default channel would be reused by its subscriber, which would then consume
    on a channel without the subscription's prefetch limit (its whole backlog in memory).
    """
    await broker.start()
    await declare_platform_queues(broker, topology)
    for consumer in consumers:
        await consumer.declare()
