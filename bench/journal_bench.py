"""Audit's journal consumer against the messaging floor, in one run, on the same queue.

The events wait in audit's journal queue (declared by the platform topology, a random prefix,
deleted at the end) before each consumer starts, as after a burst or an outage, so the consumer
alone sets the pace (a live publisher would cap both and squeeze the ratio towards 1); `WARM`
of them are consumed before the clock starts, then the rest are timed until consumed. Audit
commits its journal in batches, so its window starts at the count read when the warm-up is
seen done, and only the events journaled after it are counted.

- floor: a no-op FastStream subscriber on that very queue, with the journal subscription's
  prefetch and manual acks (one `ack` per message, as `EventConsumer` does), the body taken
  raw; measured BEFORE and AFTER audit. Audit itself takes its queue in batches on aio-pika
  (`shared.messaging.batch`: one group commit and one multiple ack per batch), which is how it
  can pass this floor;
- audit: `python -m audit`, its own `main` as production runs it (`create_app` through
  `shared.serve`: ServiceRuntime, telemetry middleware, spans exported over OTLP/HTTP to a sink
  process, JSON logs at INFO to a file, SQLite), in its own process; counted by reading its
  journal table.

`run()` returns `audit_events_s`, `floor_before_events_s`, `floor_after_events_s`, the ratios,
audit's CPU ms per event (psutil), and `journal_complete_ok` (every event journaled once,
nothing dead-lettered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import psutil
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel
from faststream.rabbit.message import RabbitMessage

from audit.consumers import JOURNAL_QUEUE
from audit.service import JOURNAL
from audit.settings import Settings as AuditSettings
from bench._common import (
    AMQP_URL,
    CpuMeter,
    Profiler,
    delete_prefixed,
    free_port,
    shared_otlp_sink,
    stop_process,
    workdir,
)
from bench.bus_bench import make_envelopes
from shared.clock import SystemClock
from shared.contracts.envelope import Envelope
from shared.messaging.bus import EventPublisher, create_broker, raw_body
from shared.messaging.topology import Topology, declare_platform_queues

NEEDS_RABBITMQ = True
SUMMARY = [
    ("audit journal events/s (production wiring)", "audit_events_s", None),
    ("no-op subscriber floor events/s, before", "floor_before_events_s", None),
    ("no-op subscriber floor events/s, after", "floor_after_events_s", None),
    ("audit / floor (before)", "audit_vs_floor_before", "floor_before_events_s"),
    ("audit / floor (after)", "audit_vs_floor_after", "floor_after_events_s"),
    ("audit CPU ms/event", "audit_cpu_ms_per_event", None),
]
DEFAULT_EVENTS = 5000
QUICK_EVENTS = 200
WARM = 200
PUBLISH_WINDOW = 256
POLL_SECONDS = 0.02
PROFILE = Path(__file__).resolve().parent.parent / "var" / "bench" / "journal-audit.pyspy"
PREFETCH: int = AuditSettings.model_fields["journal_prefetch"].default


async def _fill(url: str, topology: Topology, envelopes: Sequence[Envelope]) -> None:
    """Publish the events to the platform exchange (persistent, confirmed), no consumer."""
    broker = create_broker(url, app_id="securact-bench")
    await broker.connect()
    try:
        await declare_platform_queues(broker, topology)
        publisher = EventPublisher(broker, topology)
        for first in range(0, len(envelopes), PUBLISH_WINDOW):
            await asyncio.gather(
                *(publisher.publish(e) for e in envelopes[first : first + PUBLISH_WINDOW])
            )
    finally:
        await broker.stop()


async def _floor(url: str, topology: Topology, warm: int, events: int) -> dict[str, float]:
    """Seconds the no-op subscriber takes for `events` after `warm`, on the journal queue."""
    broker = create_broker(url, app_id="securact-bench-floor")
    received = 0
    total = warm + events
    warmed, done = asyncio.Event(), asyncio.Event()
    meter = CpuMeter({"client": psutil.Process()})

    @broker.subscriber(
        topology.queue(JOURNAL_QUEUE),
        channel=Channel(prefetch_count=PREFETCH),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
    )
    async def consume(body: bytes) -> None:
        nonlocal received
        message: RabbitMessage = broker.context.get_local("message")
        await message.ack()
        received += 1
        if received == warm:
            warmed.set()
        if received >= total:
            done.set()

    if warm == 0:
        warmed.set()
    try:
        await broker.start()
        await asyncio.wait_for(warmed.wait(), 300)
        started = time.perf_counter()
        meter.start()
        await asyncio.wait_for(done.wait(), 600)
        seconds = time.perf_counter() - started
        cpu = meter.stop()["client"]
    finally:
        await broker.stop()
    return {"s": events / seconds, "cpu_ms": cpu * 1000 / events}


def _journal_count(database: Path, event_type: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        row = db.execute(
            f"SELECT COUNT(*) FROM \"{JOURNAL}\" WHERE json_extract(doc, '$.type') = ?",  # noqa: S608
            (event_type,),
        ).fetchone()
        return int(row[0])


def _journal_size(database: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            row = db.execute(f'SELECT COUNT(*) FROM "{JOURNAL}"').fetchone()  # noqa: S608
            return int(row[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def _start_audit(root: Path, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SECURACT_AUDIT_HTTP_PORT": str(port),
        "SECURACT_AUDIT_DATA_DIR": str(root / "data"),
        "SECURACT_AUDIT_BUS_PREFIX": prefix,
        "SECURACT_AUDIT_AMQP_URL": AMQP_URL,
        "SECURACT_AUDIT_KEK_FILE": str(root / "kek.json"),
        "SECURACT_AUDIT_SIGNING_KEY_FILE": str(root / "signing.json"),
        "SECURACT_AUDIT_IDENTITY_URL": "http://127.0.0.1:9",
        "OTEL_EXPORTER_OTLP_ENDPOINT": os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or shared_otlp_sink(),
    }
    for name in ("SECURACT_AUDIT_LOG_LEVEL", "SECURACT_LOG_LEVEL", "SECURACT_LOG_JSON"):
        env.pop(name, None)  # production's defaults: JSON lines at INFO
    log = (root / "audit.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "audit"], env=env, stdout=log, stderr=log, start_new_session=True
    )
    log.close()
    return child, f"http://127.0.0.1:{port}"


def _wait_ready(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"audit exited ({child.returncode}) before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("audit did not become ready")


def _audit(
    root: Path, prefix: str, event_type: str, warm: int, events: int, profile: bool = False
) -> dict[str, float]:
    """Start audit on the filled queue; seconds from `warm` journaled to all journaled."""
    child, base = _start_audit(root, prefix)
    database = root / "data" / "audit.sqlite3"
    profiler = Profiler(child.pid, PROFILE, profile)
    try:
        process = psutil.Process(child.pid)
        meter = CpuMeter({"audit": process})
        # Audit may start consuming before it answers ready: poll the journal from the start.
        deadline = time.monotonic() + 300
        while _journal_size(database) < warm:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("audit did not journal the warm-up events")
            time.sleep(POLL_SECONDS)
        started = time.perf_counter()
        meter.start()
        profiler.__enter__()
        # The journal commits in batches: the count at the start may be past `warm`.
        at_start = _journal_count(database, event_type)
        # Audit journals its own `audit.started.v1` too: count the bench's events only once
        # the journal is large enough to hold them all.
        deadline = time.monotonic() + 600
        while True:
            if _journal_size(database) >= warm + events and (
                _journal_count(database, event_type) >= warm + events
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("audit did not journal every event within 600 s")
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        cpu = meter.stop()["audit"]
        profiler.__exit__()
        _wait_ready(base, child)  # it served all along; fail loudly if it is not healthy
        time.sleep(0.5)  # a duplicate would show up now
        journaled = _journal_count(database, event_type)
    finally:
        profiler.__exit__()
        stop_process(child)
    if profile:
        _print_profile(profiler)
    timed = max(1, warm + events - at_start)
    return {
        "audit_events_s": timed / seconds,
        "audit_timed_events": float(timed),
        "audit_cpu_ms_per_event": cpu * 1000 / timed,
        "audit_journaled": float(journaled),
    }


def _print_profile(profiler: Profiler) -> None:
    if not profiler.available:
        print("  profile: py-spy is not installed (uv sync installs the dev group)")
        return
    total, top = profiler.top(15)
    if not top:
        print("  profile: py-spy recorded nothing (ptrace refused?)")
        return
    print(f"  audit journaling, top 15 frames by GIL-held samples (py-spy --gil), of {total}:")
    for samples, frame in top:
        print(f"    {samples:>7}  {100 * samples / total:5.1f}%  {frame}")
    print(f"  raw stacks: {profiler.out}")


async def _dead_letters(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


def measure(events: int, warm: int, profile: bool = False) -> dict[str, float]:
    prefix = f"bench{secrets.token_hex(4)}."
    topology = Topology(prefix)
    clock = SystemClock()

    def batch() -> list[Envelope]:
        return make_envelopes(warm + events, clock)

    results: dict[str, float] = {"events": float(events), "prefetch": float(PREFETCH)}
    try:
        with workdir("securact-journal-bench-") as root:
            asyncio.run(_fill(AMQP_URL, topology, batch()))
            before = asyncio.run(_floor(AMQP_URL, topology, warm, events))
            envelopes = batch()
            event_type = envelopes[0].type
            asyncio.run(_fill(AMQP_URL, topology, envelopes))
            results.update(_audit(root, prefix, event_type, warm, events, profile))
            asyncio.run(_fill(AMQP_URL, topology, batch()))
            after = asyncio.run(_floor(AMQP_URL, topology, warm, events))
            dead = asyncio.run(
                asyncio.wait_for(
                    _dead_letters(AMQP_URL, f"{topology.queue_name(JOURNAL_QUEUE)}.dlq"), 60
                )
            )
    finally:
        asyncio.run(delete_prefixed(AMQP_URL, prefix))
    rate = results["audit_events_s"]
    results.update(
        {
            "floor_before_events_s": before["s"],
            "floor_after_events_s": after["s"],
            "floor_bench_process_cpu_ms_per_event": (before["cpu_ms"] + after["cpu_ms"]) / 2,
            "audit_vs_floor_before": rate / before["s"],
            "audit_vs_floor_after": rate / after["s"],
            "dead_lettered": float(dead),
            "journal_complete_ok": 1.0
            if results["audit_journaled"] == warm + events and dead == 0
            else 0.0,
        }
    )
    return results


def run(events: int | None = None, quick: bool = False, profile: bool = False) -> dict[str, float]:
    """The floor, audit, the floor again (see the module doc); `profile`: py-spy on audit
    over its window."""
    events = events or (QUICK_EVENTS if quick else DEFAULT_EVENTS)
    return measure(events, 20 if quick else WARM, profile)


if __name__ == "__main__":
    options: dict[str, Any] = {"quick": "--quick" in sys.argv}
    print(json.dumps(run(**options), indent=2))
