"""Bus benchmark: the platform's event path against a bare FastStream loop, in the same run.

Both measurements run against the real RabbitMQ under a random name prefix (everything declared
is deleted at the end) and send the same ~400-byte envelopes, persistent and confirmed, to a
durable quorum queue bound to a topic exchange.

- baseline: `RabbitBroker.publish(persist=True)` pipelined in windows of 256 awaited confirms, a
  default FastStream subscriber that acks each message; warmed with `WARM` throwaway messages,
  then timed from the first publish to the last message consumed; measured BEFORE and AFTER the
  platform path, both reported.
- platform: wired as `ServiceRuntime` wires a service in production: brokers with the
  telemetry middleware (`Telemetry.broker_middleware`), spans exported over OTLP/HTTP (to a
  sink process) when no `OTEL_EXPORTER_OTLP_ENDPOINT` is set, an `Outbox` storing each event's
  `traceparent` (written inside a server span, as a request handler does), the `OutboxRelay`
  publishing inside its relay span, and audit's `Journal` consuming through `BatchConsumer` and
  its real subscription. Timed from the first outbox write (SQLite, 100 events per
  transaction, the relay running meanwhile) until the journal holds every event: the writes are
  inside the timing.

`run()` returns:
- `events`, `envelope_bytes`: the workload;
- `baseline_before_events_s`, `baseline_after_events_s`, `platform_events_s`: end-to-end
  throughput of each path (`baseline_events_s` is the faster baseline, the stricter divisor);
- `platform_vs_baseline_before`, `platform_vs_baseline_after`, `platform_vs_baseline_ratio`:
  the platform against each baseline, and against the faster one (target: at least 0.5);
- `outbox_writes_s`: events written into the outbox per second (part of the timed path);
- `audit_prefetch`, `audit_peak_in_flight`: the journal subscription's prefetch and the most
  envelopes seen in journal handler calls running at once (above the prefetch means RabbitMQ was not
  asked to bound deliveries);
- `journal_from_bus_events_s`, `journal_drain_ok`: audit's journal alone draining a queue that
  already holds every event (published first, the journal started after), and whether that
  run, too, journaled each event exactly once (target: at least 2 000/s);
- `exactly_once_ok`: 1.0 when every event reached the journal exactly once, with contiguous
  producer sequence numbers, a journal that `verify_journal` finds intact, nothing left unsent
  and nothing dead-lettered; else 0.0 (a hard budget).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import aio_pika
from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from opentelemetry.trace import SpanKind

from audit.consumers import JOURNAL_QUEUE, journal_subscription
from audit.context import Config
from audit.service import INDEXES as AUDIT_INDEXES
from audit.service import JOURNAL, Journal, wire
from audit.vault import PayloadVault
from audit.verify import verify_journal
from bench._common import delete_prefixed, shared_otlp_sink
from shared.clock import Clock, SystemClock
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.crypto import KeyRing, LocalKeyFile, SigningKey, SigningKeyRing
from shared.messaging.batch import BatchConsumer
from shared.messaging.bus import CONTENT_TYPE, EventPublisher, create_broker
from shared.messaging.consumer import RetryPolicy, start_consuming
from shared.messaging.inbox import INBOX_INDEXES
from shared.messaging.outbox import OUTBOX, Outbox, OutboxRelay
from shared.messaging.topology import Topology, declare_platform_queues
from shared.store.sqlite import SqliteStore
from shared.telemetry import Telemetry, extract_context, inject_traceparent, setup_telemetry

log = logging.getLogger(__name__)

AMQP_URL = os.environ.get("SECURACT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
NEEDS_RABBITMQ = True
SUMMARY = [
    ("platform events/s (outbox writes timed)", "platform_events_s", None),
    ("baseline events/s, before", "baseline_before_events_s", None),
    ("baseline events/s, after", "baseline_after_events_s", None),
    ("platform / baseline (before)", "platform_vs_baseline_before", "baseline_before_events_s"),
    ("platform / baseline (after)", "platform_vs_baseline_after", "baseline_after_events_s"),
]
TARGETS = {
    "platform_vs_baseline_ratio": (">=", 0.5),
    "journal_from_bus_events_s": (">=", 2000.0),
}
DEFAULT_EVENTS = 5000
QUICK_EVENTS = 300
WARM = 200
AUDIT_ORIGIN = "bench.local/audit"
# Each publish awaits its confirm, so throughput comes from keeping this many in flight; the
# relay's batch size (RelayPolicy.batch_size) is the same number.
PUBLISH_WINDOW = 256
WRITE_TRANSACTION_SIZE = 100
EVENTS_PER_SUBJECT = 8
POLL_SECONDS = 0.02
# Generous: a path that has not delivered everything by then has lost events.
MIN_DEADLINE_SECONDS = 60.0
MIN_EVENTS_PER_SECOND = 50.0


class BenchActServedV1(EventPayload):
    """A realistic event body, shaped like the facts delivery publishes. Deliberately not
    registered: it exists for the benchmark only and has no JSON-Schema snapshot."""

    producer: ClassVar[str] = "bench"
    fact: ClassVar[str] = "act-served"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    recipient_id: str
    channel: str


def make_envelopes(count: int, clock: Clock) -> list[Envelope]:
    """`count` envelopes about `count / EVENTS_PER_SUBJECT` acts, the acts interleaved as
    concurrent cases are (audit keeps one payload key per subject)."""
    acts = [secrets.token_hex(8) for _ in range(max(1, count // EVENTS_PER_SUBJECT))]
    envelopes = []
    for number in range(count):
        act_id = acts[number % len(acts)]
        payload = BenchActServedV1(
            act_id=act_id,
            office_id="office-0042",
            recipient_id=f"rcpt-{act_id[:8]}",
            channel="email",
        )
        envelopes.append(
            new_envelope(payload, subject=f"act:{act_id}", actor="office:office-0042", clock=clock)
        )
    return envelopes


async def _baseline(url: str, prefix: str, bodies: Sequence[bytes], warm: int) -> float:
    """Seconds from the first publish to the last message consumed, bare FastStream, after
    `warm` throwaway messages went the same way."""
    exchange = RabbitExchange(f"{prefix}baseline", type=ExchangeType.TOPIC, durable=True)
    queue = RabbitQueue(
        f"{prefix}baseline", queue_type=QueueType.QUORUM, durable=True, routing_key="#"
    )
    warm_bodies = [bodies[n % len(bodies)] for n in range(warm)]
    total = len(bodies) + warm
    # The same access-log level as create_broker, so neither path pays for per-message logs.
    consumer_broker = RabbitBroker(url, log_level=logging.DEBUG)
    publisher_broker = RabbitBroker(url, log_level=logging.DEBUG)
    received = 0
    done = asyncio.Event()
    warmed = asyncio.Event()

    @consumer_broker.subscriber(queue, exchange)
    async def consume(body: dict[str, Any]) -> None:
        nonlocal received
        received += 1
        if received >= warm:
            warmed.set()
        if received >= total:
            done.set()

    async def publish_all(batch: Sequence[bytes]) -> None:
        for first in range(0, len(batch), PUBLISH_WINDOW):
            await asyncio.gather(
                *(
                    publisher_broker.publish(
                        body,
                        exchange=exchange,
                        routing_key=BenchActServedV1.routing_key(),
                        persist=True,
                        content_type=CONTENT_TYPE,
                    )
                    for body in batch[first : first + PUBLISH_WINDOW]
                )
            )

    try:
        await consumer_broker.start()
        await publisher_broker.connect()
        await publish_all(warm_bodies)
        await asyncio.wait_for(warmed.wait(), _deadline(max(1, warm)))
        start = time.perf_counter()
        await publish_all(bodies)
        await asyncio.wait_for(done.wait(), _deadline(total))
        elapsed = time.perf_counter() - start
    finally:
        await publisher_broker.stop()
        await consumer_broker.stop()
    if received != total:
        raise RuntimeError(f"baseline consumed {received} messages, expected {total}")
    return elapsed


class _Platform:
    """One producer (outbox + relay on its own SQLite store) and the audit journal (its own
    SQLite store), each with its own broker connection, as two services would have."""

    def __init__(self, url: str, prefix: str, workdir: Path) -> None:
        self.clock = clock = SystemClock()
        self.topology = Topology(prefix)
        self.telemetry = telemetry = _telemetry()
        self.producer_store = SqliteStore(workdir / "producer.sqlite3")
        self.audit_store = SqliteStore(workdir / "audit.sqlite3")
        # As ServiceRuntime wires every service: traceparent stored with each event, brokers
        # with the telemetry middleware, the relay publishing inside its span.
        self.outbox = Outbox(self.producer_store, self.clock, trace_carrier=inject_traceparent)
        self.producer_broker = create_broker(
            url, middlewares=[telemetry.broker_middleware()], app_id="securact-bench"
        )
        self.relay = OutboxRelay(
            self.producer_store,
            EventPublisher(self.producer_broker, self.topology),
            self.clock,
            owner="bench-relay",
            wakeup=self.outbox.pending,
            publish_context=self._relay_span,
        )
        self.audit_broker = create_broker(
            url, middlewares=[telemetry.broker_middleware()], app_id="securact-audit"
        )

        # As audit.main wires it, minus HTTP, tokens and the periodic checkpoint job.
        self.journal: Journal = wire(
            Config(AUDIT_ORIGIN),
            store=self.audit_store,
            outbox=Outbox(self.audit_store, clock),
            clock=clock,
            vault=PayloadVault(KeyRing(LocalKeyFile(workdir / "audit-kek.json", clock)), clock),
            signer=SigningKeyRing(SigningKey.generate(AUDIT_ORIGIN)),
        ).journal
        subscription = journal_subscription(self.journal)
        self.prefetch = subscription.prefetch
        self.in_flight = self.peak_in_flight = 0
        handler = subscription.handler

        async def observed(envelopes: Sequence[Envelope]) -> None:
            self.in_flight += len(envelopes)
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                await handler(envelopes)
            finally:
                self.in_flight -= len(envelopes)

        self.consumer = BatchConsumer(
            self.audit_broker,
            self.topology,
            dataclasses.replace(subscription, handler=observed),
            RetryPolicy(),
        )

    def _relay_span(self, carrier: Any) -> Any:
        # ServiceRuntime._relay_span: the publish continues the trace of the writing request.
        return self.telemetry.tracer(__name__).start_as_current_span(
            "outbox relay", context=extract_context(carrier), kind=SpanKind.INTERNAL
        )

    async def start(self, *, journal: bool = True) -> None:
        """Open both stores and connect the producer; start the journal's consumer unless
        `journal` is false (the queues are then declared through the producer's connection)."""
        # The indexes ServiceRuntime.start ensures on every service's store.
        common = (*OutboxRelay.indexes(), *INBOX_INDEXES)
        await self.producer_store.connect()
        await self.producer_store.ensure_indexes(common)
        await self.audit_store.connect()
        await self.audit_store.ensure_indexes((*common, *AUDIT_INDEXES))
        await self.producer_broker.connect()
        if journal:
            await self.start_journal()
        else:
            await declare_platform_queues(self.producer_broker, self.topology)

    async def start_journal(self) -> None:
        # What ServiceRuntime does: connect, start_consuming (start, declare), then the batch
        # consumer on a channel of its own with the subscription's prefetch.
        await self.audit_broker.connect()
        await start_consuming(self.audit_broker, self.topology, [])
        await self.consumer.declare()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.producer_broker.stop()
        await self.audit_broker.stop()
        await self.producer_store.close()
        await self.audit_store.close()

    async def write(self, envelopes: Sequence[Envelope]) -> float:
        """Seconds to store the events in the outbox, `WRITE_TRANSACTION_SIZE` per commit."""
        tracer = self.telemetry.tracer(__name__)
        start = time.perf_counter()
        for first in range(0, len(envelopes), WRITE_TRANSACTION_SIZE):
            # A request handler's server span is current when it writes its events.
            with tracer.start_as_current_span("POST /bench", kind=SpanKind.SERVER):
                async with self.outbox.transaction() as tx:
                    for envelope in envelopes[first : first + WRITE_TRANSACTION_SIZE]:
                        await self.outbox.add(tx, envelope)
        return time.perf_counter() - start

    async def write_until_journaled(
        self, envelopes: Sequence[Envelope]
    ) -> tuple[float, int, float]:
        """Seconds from the first outbox write (the relay running meanwhile, as in a service)
        until the journal holds every event (or the deadline passed), the journal size reached,
        and the seconds the writes alone took."""
        total = len(envelopes)
        relay = asyncio.create_task(self.relay.run(), name="bench-outbox-relay")
        start = time.perf_counter()
        deadline = start + _deadline(total)
        try:
            write_seconds = await self.write(envelopes)
            size = 0
            while size < total and time.perf_counter() < deadline:
                await asyncio.sleep(POLL_SECONDS)
                size = (await self.journal.head()).size
            elapsed = time.perf_counter() - start
        finally:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
        return elapsed, size, write_seconds

    async def relay_everything(self) -> None:
        """Publish every outbox row, the journal not consuming yet."""
        while await self.relay.relay_once():
            pass

    async def journal_until(self, total: int) -> tuple[float, int]:
        """Seconds from the journal's start until it holds `total` entries (or the deadline
        passed), and the journal size reached."""
        start = time.perf_counter()
        deadline = start + _deadline(total)
        await self.start_journal()
        size = 0
        while size < total and time.perf_counter() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            size = (await self.journal.head()).size
        return time.perf_counter() - start, size

    async def problems(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Why the run does not prove exactly-once delivery (empty when it does)."""
        found: list[str] = []
        unsent = await self.producer_store.count(OUTBOX, {"sent": False})
        if unsent:
            found.append(f"{unsent} outbox rows still unsent")
        entries = await self.audit_store.find(JOURNAL, sort=[("index", 1)])
        if len(entries) != len(envelopes):
            found.append(f"journal holds {len(entries)} entries, expected {len(envelopes)}")
        journaled = [entry["event_id"] for entry in entries]
        if sorted(journaled) != sorted(envelope.event_id for envelope in envelopes):
            found.append("journaled event ids differ from the ids written")
        sequence = sorted(int(entry["producer_seq"] or 0) for entry in entries)
        if sequence != list(range(1, len(entries) + 1)):
            found.append("producer_seq is not contiguous from 1")
        report = await verify_journal(self.audit_store, [])
        found += [f"journal entry {f.index}: {f.reason}" for f in report.findings]
        return found


async def _platform(
    url: str, prefix: str, envelopes: Sequence[Envelope], workdir: Path
) -> dict[str, float]:
    platform = _Platform(url, prefix, workdir)
    total = len(envelopes)
    try:
        await platform.start()
        seconds, size, write_seconds = await platform.write_until_journaled(envelopes)
        # Give a duplicate or a retried message a moment to show up before counting.
        await asyncio.sleep(0.5)
        problems = await platform.problems(envelopes)
        dead = await asyncio.wait_for(
            _message_count(url, f"{platform.topology.queue_name(JOURNAL_QUEUE)}.dlq"), 60
        )
        if dead:
            problems.append(f"{dead} messages dead-lettered")
    finally:
        await platform.stop()
    for problem in problems:
        log.error("platform path: %s", problem)
    return {
        "outbox_writes_s": total / write_seconds,
        "platform_events_s": size / seconds,
        "platform_seconds": seconds,
        "audit_prefetch": float(platform.prefetch),
        "audit_peak_in_flight": float(platform.peak_in_flight),
        "exactly_once_ok": 0.0 if problems else 1.0,
    }


async def _journal_drain(
    url: str, prefix: str, envelopes: Sequence[Envelope], workdir: Path
) -> dict[str, float]:
    """Audit's sustained journaling rate from the bus: the events are all in its queue before
    the journal starts, as after a burst or an outage, and nothing else runs in the process
    (in production audit is a process of its own)."""
    platform = _Platform(url, prefix, workdir)
    total = len(envelopes)
    try:
        await platform.start(journal=False)
        await platform.write(envelopes)
        await platform.relay_everything()
        seconds, size = await platform.journal_until(total)
        await asyncio.sleep(0.5)
        problems = await platform.problems(envelopes)
    finally:
        await platform.stop()
    for problem in problems:
        log.error("journal drain: %s", problem)
    return {
        "journal_from_bus_events_s": size / seconds,
        "journal_drain_ok": 0.0 if problems else 1.0,
    }


async def _message_count(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)
    finally:
        await connection.close()


async def _delete_declared(url: str, prefix: str) -> None:
    """Delete what this run declared (best effort: a failure must not hide the results)."""
    await delete_prefixed(
        url,
        prefix,
        extra_queues=(f"{prefix}baseline",),
        extra_exchanges=(f"{prefix}baseline",),
    )


def _deadline(total: int) -> float:
    return max(MIN_DEADLINE_SECONDS, total / MIN_EVENTS_PER_SECOND)


def _telemetry() -> Telemetry:
    """The process's telemetry, exporting spans as production does (OTLP/HTTP, batched) to a
    sink unless an endpoint is configured; the first call in the process decides."""
    if not any(os.environ.get(v) for v in ("OTEL_EXPORTER_OTLP_ENDPOINT",)):
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = shared_otlp_sink()
    return setup_telemetry("securact-bench")


async def measure(
    events: int = DEFAULT_EVENTS, url: str = AMQP_URL, warm: int = WARM
) -> dict[str, float]:
    """Both paths in one run, under a fresh name prefix that is cleaned up afterwards."""
    if events < 1:
        raise ValueError("events must be positive")
    prefix = f"bench{secrets.token_hex(4)}."
    envelopes = make_envelopes(events, SystemClock())
    bodies = [envelope.model_dump_json().encode() for envelope in envelopes]
    try:
        before_seconds = await _baseline(url, prefix, bodies, warm)
        with tempfile.TemporaryDirectory(prefix="securact-bench-") as workdir:
            platform = await _platform(url, prefix, envelopes, Path(workdir))
        after_seconds = await _baseline(url, f"{prefix}after.", bodies, warm)
        drain_prefix = f"bench{secrets.token_hex(4)}."
        try:
            with tempfile.TemporaryDirectory(prefix="securact-bench-") as workdir:
                drained = await _journal_drain(
                    url, drain_prefix, make_envelopes(events, SystemClock()), Path(workdir)
                )
        finally:
            await _delete_declared(url, drain_prefix)
    finally:
        await _delete_declared(url, prefix)
        await _delete_declared(url, f"{prefix}after.")
    before, after = events / before_seconds, events / after_seconds
    rate = platform["platform_events_s"]
    return {
        "events": float(events),
        "envelope_bytes": sum(len(body) for body in bodies) / events,
        "baseline_before_events_s": before,
        "baseline_after_events_s": after,
        "baseline_events_s": max(before, after),
        **platform,
        **drained,
        "platform_vs_baseline_before": rate / before,
        "platform_vs_baseline_after": rate / after,
        "platform_vs_baseline_ratio": rate / max(before, after),
    }


def run(events: int | None = None, quick: bool = False) -> dict[str, float]:
    """Measure the baseline and the platform path against RabbitMQ (see the module doc)."""
    count = events or (QUICK_EVENTS if quick else DEFAULT_EVENTS)
    return asyncio.run(measure(count, warm=20 if quick else WARM))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    count = int(sys.argv[1]) if sys.argv[1:] else DEFAULT_EVENTS
    print(json.dumps(run(count), indent=2))
