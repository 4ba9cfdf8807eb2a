"""A consumer that takes its queue in batches, on aio-pika directly: for a handler that works in
groups anyway (audit's journal commits many envelopes in one transaction).

`EventConsumer` runs FastStream's per-message machinery (a context, middlewares, a span and an
ack per message); here each delivery is only queued, and one loop takes what arrived (up to
`max_batch`, lingering a moment for more), validates each body, hands the valid envelopes to the
handler in one call, then acknowledges the whole batch with ONE `ack(multiple=True)` on its
highest delivery tag. The next batch is validated and handed over while one is being handled
(two at most), and batches are acknowledged in the order they came. Nothing is acknowledged
before the handler returned (or the message was republished, confirmed, to its retry queue or
the dead letters): a crash redelivers the batch, and the handler must drop what it already
holds (the journal's event-id index does).

The retry rules are `EventConsumer`'s (see `shared.messaging.consumer`): a malformed body or
attempt header is dead-lettered alone; a batch the handler fails is handled again message by
message, so that one bad message cannot fail its neighbours, and each message that still fails
is parked for retry with its attempt count, or dead-lettered after the last attempt. A batch is
acknowledged only once every earlier one is, so the multiple ack never covers a message still
being handled.

One span per batch (a root: it serves many traces, and links to each message's `traceparent`);
when it is sampled, each message also gets a consumer span in its producer's trace, ended when
the message is settled, with its outcome, so that an act's trace still shows who consumed its
events. The handler finds the span of each envelope with `consumed_span(event_id)` (e.g. to
link a group commit to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from faststream.rabbit import RabbitBroker
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, SpanKind
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.contracts.registry import UnknownEventTypeError
from shared.messaging.consumer import (
    Delivered,
    PermanentFailure,
    RetryPolicy,
    attempt_of,
    dead_letter,
    park_for_retry,
    safe_reason,
)
from shared.messaging.topology import Topology, declare_consumer_queue
from shared.telemetry import OUTCOME, annotate_event, extract_context, span, start_span

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[Envelope]], Awaitable[None]]
"""Handles every envelope of the batch, or raises (then nothing of it may count as done)."""

BATCH_SIZE = "messaging.batch.message_count"

_CONSUMED: ContextVar[dict[str, SpanContext] | None] = ContextVar("consumed_spans", default=None)


def consumed_span(event_id: str) -> SpanContext | None:
    """In a batch handler: the consumer span of the message that carried `event_id` (None when
    the batch is not sampled)."""
    spans = _CONSUMED.get()
    return spans.get(event_id) if spans else None


@dataclass(frozen=True)
class BatchSubscription:
    """A consumer queue, its routing keys, and a handler of envelopes in groups.

    `prefetch` above `max_batch` lets the next batch arrive while one is being handled."""

    queue: str
    bindings: tuple[str, ...]
    handler: BatchHandler
    prefetch: int = 512
    max_batch: int = 256
    linger: timedelta = timedelta(milliseconds=2)

    def __post_init__(self) -> None:
        if not 1 <= self.max_batch <= self.prefetch:
            raise ValueError("a batch holds at least one message and at most `prefetch`")


@dataclass(frozen=True)
class _Valid:
    message: AbstractIncomingMessage
    envelope: Envelope
    attempt: int
    span: Span | None = None

    def settled(self, outcome: str) -> None:
        if self.span is not None:
            self.span.set_attribute(OUTCOME, outcome)


@dataclass(frozen=True)
class _Started:
    """A batch whose handler runs (`handling`), or whose validation failed (`failure`)."""

    batch: list[AbstractIncomingMessage]
    valid: list[_Valid]
    handling: asyncio.Future[None] | None
    failure: Exception | None


class BatchConsumer:
    """Consumes one `BatchSubscription` on a channel of its own, on the broker's connection."""

    def __init__(
        self,
        broker: RabbitBroker,
        topology: Topology,
        subscription: BatchSubscription,
        retry: RetryPolicy,
    ) -> None:
        self._broker = broker
        self._topology = topology
        self._subscription = subscription
        self._retry = retry
        self._queue = topology.queue_name(subscription.queue)
        self._arrived: deque[AbstractIncomingMessage] = deque()
        self._wakeup = asyncio.Event()
        self._channel: AbstractChannel | None = None
        self._consumer: tuple[AbstractQueue, str] | None = None
        self._loop: asyncio.Task[None] | None = None

    @property
    def queue(self) -> str:
        """The queue's full name (`<prefix><service>.<purpose>`)."""
        return self._queue

    async def declare(self) -> None:
        """Declare the queue, its retry and dead-letter queues and bindings (after connect)."""
        await declare_consumer_queue(
            self._broker, self._topology, self._subscription.queue, self._subscription.bindings
        )

    async def start(self) -> None:
        """Consume (after `declare`); a robust channel: it resumes after a reconnection."""
        connection = await self._broker.connect()
        self._channel = await connection.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self._subscription.prefetch)
        # Declared (same arguments as the topology's) rather than fetched: a robust channel
        # restores, after a reconnection, only the queues it declared, and their consumers.
        spec = self._topology.queue(self._subscription.queue)
        queue = await self._channel.declare_queue(
            spec.name, durable=spec.durable, arguments=dict(spec.arguments or {})
        )
        self._loop = asyncio.create_task(self._run(), name=f"batch-consumer {self._queue}")
        self._consumer = (queue, await queue.consume(self._on_delivery))

    async def stop(self) -> None:
        """Stop consuming; a batch being handled is abandoned unacknowledged (redelivered)."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer[0].cancel(consumer[1]), 5)
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.close(), 5)
        self._arrived.clear()

    async def _on_delivery(self, message: AbstractIncomingMessage) -> None:
        self._arrived.append(message)
        self._wakeup.set()

    async def _run(self) -> None:
        linger = self._subscription.linger.total_seconds()
        limit = self._subscription.max_batch
        started: asyncio.Queue[_Started] = asyncio.Queue()
        # Two batches at most between their start and their ack: the next one is validated
        # and handed over while the previous one is still being handled (committed).
        room = asyncio.Semaphore(2)
        settler = asyncio.create_task(self._settle_in_order(started, room))
        try:
            while True:
                await self._wakeup.wait()
                if len(self._arrived) < limit and linger > 0:
                    await asyncio.sleep(linger)  # let a burst gather into one batch
                await room.acquire()
                count = min(len(self._arrived), limit)
                batch = [self._arrived.popleft() for _ in range(count)]
                if not self._arrived:
                    self._wakeup.clear()
                if batch:
                    started.put_nowait(await self._start(batch))
                else:
                    room.release()
        finally:
            settler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await settler

    async def _start(self, batch: list[AbstractIncomingMessage]) -> _Started:
        """Validate the batch and start its handler (a task: settled in order later)."""
        with span(f"{self._queue} process", root=True, kind=SpanKind.CONSUMER) as current:
            current.set_attribute(BATCH_SIZE, len(batch))
            valid: list[_Valid] = []
            try:
                for message in batch:
                    checked = await self._validate(message)
                    if checked is not None:
                        valid.append(checked)
            except Exception as error:
                return _Started(batch, valid, None, error)
            if current.is_recording():
                valid = [_traced(current, item) for item in valid]
            handling: asyncio.Future[None] | None = None
            if valid:
                token = _CONSUMED.set(
                    {i.envelope.event_id: i.span.get_span_context() for i in valid if i.span}
                )
                try:  # the task copies the context: the handler sees the spans
                    handling = asyncio.ensure_future(
                        self._subscription.handler([item.envelope for item in valid])
                    )
                finally:
                    _CONSUMED.reset(token)
            return _Started(batch, valid, handling, None)

    async def _settle_in_order(
        self, started: asyncio.Queue[_Started], room: asyncio.Semaphore
    ) -> None:
        """Wait for each batch's handler in the order the batches came, retry what failed,
        then ack the batch: a multiple ack never covers a message still being handled."""
        while True:
            item = await started.get()
            try:
                if item.failure is not None:
                    raise item.failure
                if item.handling is not None:
                    await self._finish(item.valid, item.handling)
                await _acknowledge(item.batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Requeued at once: a later batch's multiple ack must not cover them.
                log.exception("batch of %d from %s not settled", len(item.batch), self._queue)
                await _settle(item.batch, requeue=True)
            finally:
                room.release()
                for valid in item.valid:
                    if valid.span is not None:
                        valid.span.end()

    async def _validate(self, message: AbstractIncomingMessage) -> _Valid | None:
        """The message's envelope and attempt, or None once it is dead-lettered."""
        headers: dict[str, Any] = dict(message.headers or {})
        attempt = attempt_of(headers)
        if attempt is None:
            await self._dead_letter(message, 1, "malformed attempt header")
            return None
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as error:
            await self._dead_letter(message, attempt, safe_reason(error))
            return None
        return _Valid(message, envelope, attempt)

    async def _finish(self, valid: Sequence[_Valid], handling: asyncio.Future[None]) -> None:
        handler = self._subscription.handler
        try:
            await handling
        except Exception as error:
            if len(valid) == 1:
                await self._failed(valid[0], error)
                return
            log.warning(
                "batch of %d from %s failed (%s); handling its messages one by one",
                len(valid),
                self._queue,
                type(error).__name__,
            )
        else:
            for item in valid:
                item.settled("handled")
            return
        for item in valid:
            try:
                await handler([item.envelope])
            except Exception as error:
                await self._failed(item, error)
            else:
                item.settled("handled")

    async def _failed(self, item: _Valid, error: Exception) -> None:
        """Park `item` for its next attempt, or dead-letter it (permanent, or the last one)."""
        event_id, attempt = item.envelope.event_id, item.attempt
        if isinstance(error, PermanentFailure | ValidationError | UnknownEventTypeError):
            log.warning("dead-lettering %s from %s: %s", event_id, self._queue, safe_reason(error))
            item.settled("dead-lettered")
            await self._dead_letter(item.message, attempt, safe_reason(error))
        elif attempt >= self._retry.max_attempts:
            log.error(
                "dead-lettering %s from %s after %d attempts (%s)",
                event_id,
                self._queue,
                attempt,
                type(error).__name__,
            )
            reason = f"gave up after {attempt} attempts: {safe_reason(error)}"
            item.settled("dead-lettered")
            await self._dead_letter(item.message, attempt, reason)
        else:
            log.warning(
                "attempt %d of %s on %s failed (%s); retrying",
                attempt,
                event_id,
                self._queue,
                type(error).__name__,
            )
            item.settled("retried")
            await park_for_retry(
                self._broker, self._queue, self._retry, _delivered(item.message), attempt
            )

    async def _dead_letter(
        self, message: AbstractIncomingMessage, attempt: int, reason: str
    ) -> None:
        await dead_letter(
            self._broker, self._topology, self._queue, _delivered(message), attempt, reason
        )


def _delivered(message: AbstractIncomingMessage) -> Delivered:
    return Delivered(
        body=message.body,
        headers=dict(message.headers or {}),
        routing_key=message.routing_key or "",
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        content_type=message.content_type,
    )


def _traced(batch: Span, item: _Valid) -> _Valid:
    """`item` with a consumer span in its producer's trace, which the batch span links to."""
    headers = item.message.headers or {}
    carrier = {k: v for k in ("traceparent", "tracestate") if isinstance(v := headers.get(k), str)}
    envelope = item.envelope
    parent = extract_context(carrier)
    message_span = start_span(
        f"{item.message.routing_key or envelope.type} process",
        context=parent,
        kind=SpanKind.CONSUMER,
    )
    with trace.use_span(message_span):
        annotate_event(envelope.subject, envelope.type, envelope.payload)
    producer = trace.get_current_span(parent).get_span_context()
    if producer.is_valid:
        batch.add_link(producer)
    return _Valid(item.message, envelope, item.attempt, message_span)


async def _acknowledge(batch: Sequence[AbstractIncomingMessage]) -> None:
    """One `ack(multiple=True)` per channel the batch came on (one, unless a reconnection fell
    in the middle of it), on its highest delivery tag: every earlier message of that channel
    was settled by this batch or an earlier one."""
    await _settle(batch, requeue=None)


async def _settle(batch: Sequence[AbstractIncomingMessage], *, requeue: bool | None) -> None:
    """Ack (`requeue` None) or nack the batch, with one `multiple` frame per channel."""
    last: dict[int, AbstractIncomingMessage] = {}
    for message in batch:
        last[id(message.channel)] = message
    for message in last.values():
        try:
            if requeue is None:
                await message.ack(multiple=True)
            else:
                await message.nack(multiple=True, requeue=requeue)
        except Exception as error:
            # Its channel is gone: the broker redelivers, the handler drops what it holds.
            log.warning("could not settle a batch (%s)", type(error).__name__)
