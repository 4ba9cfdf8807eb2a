"""Notify benchmark: how fast e-mails leave, and how long an act waits for its e-mail.

Everything runs locally: the dev mailbox (`devstack.mailbox`, a real SMTP server plus its
Mailpit-shaped API) as a subprocess, RabbitMQ under a random name prefix (deleted afterwards),
the notify service in this process on a temporary SQLite store.

`run()` returns:
- `smtp_transport_before_emails_s`, `smtp_transport_after_emails_s`: prebuilt messages handed to
  the dev mailbox through notify's SMTP adapter (4 pooled connections), the transport alone,
  after `WARM` throwaway messages, for `TRANSPORT_MESSAGES`; measured before and after the
  pipeline in the same run, against the same mailbox;
- `pipeline_vs_transport_before`, `_after`: the pipeline's rate over each;
- `pipeline_emails_s`: 1000 `delivery.act-served.v1` published at once, until notify has
  recorded every acceptance by the dev mailbox (bus, intake, rendering, sending, bookkeeping
  with the evidence event, all overlapping);
- `pipeline_cpu_ms_per_email`, `mailbox_cpu_ms_per_email`: CPU (user + system) of this process
  (notify, and the bench publishing the events) and of the dev mailbox over the pipeline's
  window, per e-mail; `--profile` also records this process with py-spy over that window and
  prints its top frames;
- `act_to_mailbox_p50_s`, `act_to_mailbox_p95_s`: from a published `delivery.act-served.v1`
  (its `occurred_at`) to the message stored by the dev mailbox, through RabbitMQ and notify;
- `bulk_notices`, `bulk_act_p50_s`, `bulk_act_p95_s`, `bulk_notices_s`: acts served while
  `bulk_notices` CGU notices are being sent (to a recording SMTP server in this process, so
  that ten thousand messages do not go through the mailbox's listing API), the acts' e-mail
  delay, and the notices' throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench._common import CpuMeter, Profiler, delete_prefixed, shared_otlp_sink
from notify.main import create_app
from notify.repository import NOTIFICATIONS
from notify.service import Notify
from notify.settings import Settings
from notify.smtp import SmtpConfig, SmtpTransport
from shared.clock import SystemClock
from shared.contracts import delivery, identity
from shared.contracts.envelope import Envelope as BusEnvelope
from shared.contracts.envelope import EventPayload, new_envelope
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

NEEDS_RABBITMQ = True
SUMMARY = [
    ("pipeline e-mails/s (bus -> notify -> mailbox)", "pipeline_emails_s", None),
    ("SMTP transport e-mails/s, before", "smtp_transport_before_emails_s", None),
    ("SMTP transport e-mails/s, after", "smtp_transport_after_emails_s", None),
    (
        "pipeline / transport (before)",
        "pipeline_vs_transport_before",
        "smtp_transport_before_emails_s",
    ),
    (
        "pipeline / transport (after)",
        "pipeline_vs_transport_after",
        "smtp_transport_after_emails_s",
    ),
]
WARM = 200
AMQP_URL = os.environ.get("SECURACT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
TRANSPORT_MESSAGES = 1000
PIPELINE_MESSAGES = 1000
LATENCY_ACTS = 100
BULK_NOTICES = 5_000
BULK_ACTS = 50
CLOCK = SystemClock()
PROFILE = Path(__file__).resolve().parent.parent / "var" / "bench" / "notify-pipeline.pyspy"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def dev_mailbox(directory: Path) -> Iterator[tuple[int, str, int]]:
    """The dev mailbox as a subprocess: (SMTP port, API base URL, pid)."""
    smtp_port, http_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.mailbox",
            f"--dir={directory}",
            f"--smtp-port={smtp_port}",
            f"--http-port={http_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/readyz").status_code == 200:
                    with socket.create_connection(("127.0.0.1", smtp_port), timeout=1):
                        break
            except (httpx.TransportError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the dev mailbox did not start") from None
            time.sleep(0.1)
        yield smtp_port, f"http://127.0.0.1:{http_port}/api/v1", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


class ArrivalRecorder:
    """aiosmtpd handler keeping only (arrival time, recipient): no parsing, no disk."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self._lock:
            self.arrivals.append((time.time(), envelope.rcpt_tos[0]))
        return "250 OK"

    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)


def _settings(data_dir: Path, prefix: str, smtp_port: int, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "bus_prefix": prefix,
        "log_json": False,
        "log_level": "WARNING",
        "outbox_poll_seconds": 0.2,
        "amqp_url": AMQP_URL,
        "smtp_port": smtp_port,
        "idle_poll_seconds": 0.05,
        "retry_first_delay_seconds": 0.2,
        "domain_rate_per_second": 100_000.0,
        "domain_burst": 1000,
    }
    values.update(extra)
    return Settings(**values)


@asynccontextmanager
async def notify_service(settings: Settings) -> AsyncIterator[tuple[ServiceRuntime, Notify]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        notify: Notify = app.state.notify
        await asyncio.wait_for(runtime.broker_started.wait(), 30)
        yield runtime, notify


async def publish(runtime: ServiceRuntime, envelopes: list[BusEnvelope]) -> None:
    async with runtime.outbox.transaction() as tx:
        for envelope in envelopes:
            await runtime.outbox.add(tx, envelope)


def _wrap(payload: EventPayload, subject: str) -> BusEnvelope:
    return new_envelope(payload, subject=subject, actor="bench", clock=CLOCK)


def act_served(n: int) -> BusEnvelope:
    payload = delivery.ActServedV1(
        act_id=f"act-{n}",
        declaration_id=f"decl-{n}",
        recipient_account_id=f"acc-{n}",
        recipient_email=f"dest{n}@example.fr",
        act_nature="signification de jugement",
        office_id="office-1",
        office_name="Étude Martin & Associés",
        served_at=CLOCK.now(),
        portal_url="https://portail.securact.fr/actes",
    )
    return _wrap(payload, f"act:act-{n}")


def terms_notice(n: int) -> BusEnvelope:
    payload = identity.TermsNoticeIssuedV1(
        account_id=f"user-{n}",
        email=f"user{n}@example.fr",
        terms_version=2,
        effective_at=CLOCK.now() + timedelta(days=32),
    )
    return _wrap(payload, f"account:user-{n}")


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), statistics.quantiles(ordered, n=20)[-1]


async def _wait(probe: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {within} s")
        await asyncio.sleep(0.1)


async def transport_throughput(smtp_port: int, count: int, warm: int) -> float:
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=smtp_port, connections=4))
    messages = []
    for n in range(count + warm):
        message = EmailMessage()
        message["From"] = "bench@securact.fr"
        message["To"] = f"t{n}@example.fr"
        message["Subject"] = "Banc d'essai"
        message.set_content("Bonjour,\n" + "texte " * 200)
        messages.append(message)
    await asyncio.gather(*(transport.send(m) for m in messages[:warm]))
    start = time.perf_counter()
    await asyncio.gather(*(transport.send(m) for m in messages[warm:]))
    elapsed = time.perf_counter() - start
    await transport.close()
    return count / elapsed


async def mailbox_total(api: str, http: httpx.AsyncClient) -> int:
    response = await http.get(f"{api}/messages", params={"limit": 1})
    total: int = response.json()["total"]
    return total


async def pipeline_and_latency(
    workdir: Path, prefix: str, quick: bool, profile: bool = False
) -> dict[str, float]:
    results: dict[str, float] = {}
    transport_count = 40 if quick else TRANSPORT_MESSAGES
    warm = 10 if quick else WARM
    pipeline_messages = 50 if quick else PIPELINE_MESSAGES
    latency_acts = 10 if quick else LATENCY_ACTS
    with dev_mailbox(workdir / "mailbox") as (smtp_port, api, mailbox_pid):
        results["smtp_transport_before_emails_s"] = await transport_throughput(
            smtp_port, transport_count, warm
        )
        async with httpx.AsyncClient(timeout=60) as http:
            await http.delete(f"{api}/messages")
            settings = _settings(workdir / "pipeline", prefix, smtp_port)
            async with notify_service(settings) as (runtime, _notifier):
                # From publication to the last acceptance: bus, intake and sending overlap.
                envelopes = [act_served(100_000 + n) for n in range(pipeline_messages)]
                meter = CpuMeter(
                    {"notify": psutil.Process(), "mailbox": psutil.Process(mailbox_pid)}
                )
                profiler = Profiler(os.getpid(), PROFILE, profile)
                PROFILE.parent.mkdir(parents=True, exist_ok=True)
                with profiler:
                    meter.start()
                    start = time.perf_counter()
                    await publish(runtime, envelopes)

                    async def all_sent() -> bool:
                        sent = await runtime.store.count(NOTIFICATIONS, {"state": "sent"})
                        return sent >= pipeline_messages

                    await _wait(all_sent, 600)
                    elapsed = time.perf_counter() - start
                    cpu = meter.stop()
                results["pipeline_emails_s"] = pipeline_messages / elapsed
                results["pipeline_cpu_ms_per_email"] = 1000 * cpu["notify"] / pipeline_messages
                results["mailbox_cpu_ms_per_email"] = 1000 * cpu["mailbox"] / pipeline_messages
                if profile:
                    _print_profile(profiler)
                assert await mailbox_total(api, http) == pipeline_messages
                results["smtp_transport_after_emails_s"] = await transport_throughput(
                    smtp_port, transport_count, warm
                )

                await http.delete(f"{api}/messages")
                published: dict[str, datetime] = {}
                for n in range(latency_acts):
                    envelope = act_served(n)
                    published[f"dest{n}@example.fr"] = envelope.occurred_at
                    await publish(runtime, [envelope])
                    await asyncio.sleep(0.05)

                async def all_arrived() -> bool:
                    return await mailbox_total(api, http) >= latency_acts

                await _wait(all_arrived, 120)
                listing = (await http.get(f"{api}/messages", params={"limit": 1000})).json()
                delays = [
                    (
                        datetime.fromisoformat(m["Created"].replace("Z", "+00:00"))
                        - published[m["To"][0]["Address"]]
                    ).total_seconds()
                    for m in listing["messages"]
                    if m["To"] and m["To"][0]["Address"] in published
                ]
                p50, p95 = _quantiles(delays)
                results["act_to_mailbox_p50_s"] = p50
                results["act_to_mailbox_p95_s"] = p95
    for when in ("before", "after"):
        transport = results[f"smtp_transport_{when}_emails_s"]
        results[f"pipeline_vs_transport_{when}"] = results["pipeline_emails_s"] / transport
    return results


def _print_profile(profiler: Profiler) -> None:
    if not profiler.available:
        print("  profile: py-spy is not installed (uv sync installs the dev group)")
        return
    total, top = profiler.top(15)
    if not top:
        print("  profile: py-spy recorded nothing (ptrace refused?)")
        return
    print(f"  notify pipeline, top 15 frames by GIL-held samples (py-spy --gil), of {total}:")
    for samples, frame in top:
        print(f"    {samples:>7}  {100 * samples / total:5.1f}%  {frame}")
    print(f"  raw stacks: {profiler.out}")


async def bulk_run(workdir: Path, prefix: str, notices: int) -> dict[str, float]:
    recorder = ArrivalRecorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = _settings(workdir / "bulk", prefix, port)
        async with notify_service(settings) as (runtime, _notifier):
            await publish(runtime, [terms_notice(n) for n in range(notices)])

            async def under_way() -> bool:
                return recorder.count() >= min(200, notices // 10)

            await _wait(under_way, 300)
            started, started_count = time.perf_counter(), recorder.count()
            published: dict[str, float] = {}
            for n in range(BULK_ACTS):
                envelope = act_served(n)
                published[f"dest{n}@example.fr"] = envelope.occurred_at.timestamp()
                await publish(runtime, [envelope])
                await asyncio.sleep(0.1)

            async def all_sent() -> bool:
                return recorder.count() >= notices + BULK_ACTS

            await _wait(all_sent, 1800)
            elapsed = time.perf_counter() - started
            arrivals = list(recorder.arrivals)
    finally:
        controller.stop()
    delays = [at - published[rcpt] for at, rcpt in arrivals if rcpt in published]
    p50, p95 = _quantiles(delays)
    return {
        "bulk_notices": float(notices),
        "bulk_act_p50_s": p50,
        "bulk_act_p95_s": p95,
        "bulk_notices_s": (len(arrivals) - started_count - BULK_ACTS) / elapsed,
    }


async def _delete_prefixed(prefix: str) -> None:
    await delete_prefixed(AMQP_URL, prefix)


async def measure(
    notices: int = BULK_NOTICES, quick: bool = False, profile: bool = False
) -> dict[str, float]:
    prefix = f"bench{secrets.token_hex(4)}."
    # Notify runs in this process: its telemetry exports spans as production does (OTLP/HTTP,
    # batched), to a sink unless an endpoint is configured.
    os.environ.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", shared_otlp_sink())
    try:
        with tempfile.TemporaryDirectory(prefix="securact-notify-bench-") as tmp:
            workdir = Path(tmp)
            results = await pipeline_and_latency(workdir, prefix, quick, profile)
            results.update(await bulk_run(workdir, prefix, notices))
            return results
    finally:
        await _delete_prefixed(prefix)


def run(notices: int | None = None, quick: bool = False, profile: bool = False) -> dict[str, float]:
    """Run every notify measurement (see the module docstring)."""
    return asyncio.run(measure(notices or (200 if quick else BULK_NOTICES), quick, profile))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    count = int(sys.argv[1]) if sys.argv[1:] else BULK_NOTICES
    for key, value in run(count).items():
        print(f"{key:<26} {value:>12,.3f}")
