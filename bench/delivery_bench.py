"""Delivery gateway against baselines that cannot flatter it, all in one run.

On a fresh SeaweedFS (its own, started here), with 100 KB PDFs:

- raw S3: minio `put_object` of the same bytes, 1 and 8 threads;
- floor: the minimal pipeline `bench.floor_app` (FastAPI + the platform's streaming multipart
  reader + `encrypt_stream` + `ObjectStore.put`), uvicorn in its own process, 8 clients;
- delivery: `python -m delivery` (its own `main`: `create_app` and `shared.serve`, telemetry
  installed and exporting spans over OTLP/HTTP to a sink process, JSON logs at INFO to a file,
  SQLite, the real bus under a random prefix), 8 clients. Each deposit asks consent's registry
  (`python -m consent`, its own SQLite store seeded with the active declaration) over HTTP with
  delivery's client-credentials token, as production wires it; the consent process's CPU is
  counted with delivery's.
- registry: consent's status route alone, 8 clients, right after delivery: the round trip each
  deposit waits for (the latency the registry check adds).

Every baseline is warmed (`Budget.warm` throwaway operations) and measured for at least
`Budget.min_ops` operations or `Budget.min_seconds`, BEFORE and AFTER delivery; each ratio is
printed against both. CPU: psutil counters of the delivery (or floor) process, SeaweedFS and this
process (the load generator) over each measured window, in ms per operation; the server-side
figure excludes the load generator. The load generator of the floor and of delivery is
`RawHttp` (keep-alive HTTP/1.1, prebuilt requests), no costlier per request than minio's client
is per PUT, so it does not take more of a small machine's CPU from the server under test.

Then a big act (200 MiB, `--big-mib` to change) uploaded and
downloaded through delivery against raw S3 of the same object (one part in flight, as the
platform's adapter, and minio's default parallel upload; after a throwaway upload, each way
repeated for `Budget.min_seconds`), before and after, with delivery's RSS above its baseline
(delivery's big act is one upload and one download). `--profile` runs py-spy on delivery during
its measured window and prints the top 10 frames by GIL-held samples.

Delivery runs with SECURACT_ENV=dev for one reason: its clock is shifted into a Tuesday morning
(the CPC 664 window open whenever the bench runs), which only dev allows. Tokens are signed here
and verified by delivery and consent against a JWKS served from this process, which also answers
delivery's client-credentials grant as identity's token endpoint would; delivery's projection of
the consent (for its views) arrives over the bus. No malware scanner is configured (clamd_url
empty), as in the dev stack.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import httpx
import jwt
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench._common import (
    AMQP_URL,
    Budget,
    CpuMeter,
    JwksServer,
    Measured,
    Profiler,
    RawHttp,
    Seaweed,
    delete_prefixed,
    free_port,
    otlp_sink,
    run_tasks,
    run_threads,
    seaweed,
    stop_process,
    workdir,
)
from consent.declarations import Declaration, HistoryEntry
from consent.repository import INDEXES as CONSENT_INDEXES
from consent.repository import declarations
from shared.clock import SystemClock
from shared.contracts.consent import (
    ActNature,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    DeclarationStatus,
    PersonKind,
)
from shared.contracts.envelope import new_envelope
from shared.legal_calendar import Territory
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from shared.store import open_store

NEEDS_RABBITMQ = True
TARGETS = {"delivery_vs_floor_before": (">=", 0.5)}
# (label, metric, baseline metric printed beside it)
SUMMARY = [
    ("delivery acts/s, 8 clients", "delivery_acts_s", None),
    ("delivery HTTP worker processes", "delivery_workers", None),
    ("delivery CPU ms/act (delivery + consent + S3)", "delivery_server_cpu_ms_per_act", None),
    ("delivery CPU ms/act, delivery process", "delivery_process_cpu_ms_per_act", None),
    ("delivery process CPU ms/s when idle", "delivery_idle_cpu_ms_per_s", None),
    ("delivery CPU ms/act, consent's registry", "delivery_consent_cpu_ms_per_op", None),
    ("delivery load generator CPU ms/act", "delivery_client_cpu_ms_per_op", None),
    ("delivery latency p50 ms", "delivery_p50_ms", None),
    ("delivery latency p99 ms", "delivery_p99_ms", None),
    ("registry round trip alone p50 ms, 8 clients", "registry_p50_ms", None),
    ("registry round trip alone p99 ms, 8 clients", "registry_p99_ms", None),
    ("registry status/s, 8 clients", "registry_s", None),
    ("floor CPU ms/act (floor + S3), before", "floor_before_server_cpu_ms_per_op", None),
    ("raw PUT 8t CPU ms/op (S3), before", "raw_put_8t_before_server_cpu_ms_per_op", None),
    ("raw PUT 8t load generator CPU ms/op", "raw_put_8t_before_client_cpu_ms_per_op", None),
    ("raw PUT/s, 1 thread, before", "raw_put_1t_before_s", None),
    ("raw PUT/s, 1 thread, after", "raw_put_1t_after_s", None),
    ("raw PUT/s, 8 threads, before", "raw_put_8t_before_s", None),
    ("raw PUT/s, 8 threads, after", "raw_put_8t_after_s", None),
    ("floor acts/s, 8 clients, before", "floor_before_s", None),
    ("floor acts/s, 8 clients, after", "floor_after_s", None),
    ("delivery / raw PUT 1t (before)", "delivery_vs_raw_1t_before", "raw_put_1t_before_s"),
    ("delivery / raw PUT 1t (after)", "delivery_vs_raw_1t_after", "raw_put_1t_after_s"),
    ("delivery / raw PUT 8t (before)", "delivery_vs_raw_8t_before", "raw_put_8t_before_s"),
    ("delivery / raw PUT 8t (after)", "delivery_vs_raw_8t_after", "raw_put_8t_after_s"),
    ("delivery / floor (before)", "delivery_vs_floor_before", "floor_before_s"),
    ("delivery / floor (after)", "delivery_vs_floor_after", "floor_after_s"),
    ("big upload / raw 1 part (before)", "big_upload_vs_raw_before", "big_raw_upload_before_mib_s"),
    ("big upload / raw 1 part (after)", "big_upload_vs_raw_after", "big_raw_upload_after_mib_s"),
    ("big download / raw (before)", "big_download_vs_raw_before", "big_raw_download_before_mib_s"),
    ("big download / raw (after)", "big_download_vs_raw_after", "big_raw_download_after_mib_s"),
    ("big act: delivery RSS above baseline, MiB", "big_rss_growth_mib", None),
]

MIB = 1024 * 1024
CLIENTS = 8
SMALL_CONTENT = 100 * 1024 - 600
BIG_MIB = 200
PART = 5 * MIB
IDLE_SECONDS = 5.0
TUESDAY_10H_PARIS = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
ISSUER_KID = "bench"
DECLARATION = "decl-bench"
# py-spy's collapsed stacks of delivery's measured window (`--profile`), kept for reading.
PROFILE = Path(__file__).resolve().parent.parent / "var" / "bench" / "delivery.pyspy"


def pdf_chunks(content_size: int, seed: int = 0) -> Iterator[bytes]:
    """A structurally valid PDF whose content stream holds `content_size` bytes, in pieces."""
    offset = 0
    offsets: list[int] = []
    block = secrets.token_bytes(64 * 1024)

    def emit(data: bytes) -> bytes:
        nonlocal offset
        offset += len(data)
        return data

    yield emit(b"%PDF-1.7\n")
    for number, body in (
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>"),
    ):
        offsets.append(offset)
        yield emit(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    offsets.append(offset)
    yield emit(b"4 0 obj\n<< /Length %d >>\nstream\n" % content_size)
    remaining = content_size
    counter = seed << 32
    while remaining:
        piece = block[: min(remaining, len(block))]
        piece = counter.to_bytes(8, "big") + piece[8:] if len(piece) > 8 else piece
        counter += 1
        remaining -= len(piece)
        yield emit(piece)
    yield emit(b"\nendstream\nendobj\n")
    xref = offset
    table = b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    yield emit(table + b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)


async def _consent(prefix: str) -> None:
    clock = SystemClock()
    broker = create_broker(AMQP_URL)
    await broker.connect()
    try:
        publisher = EventPublisher(broker, Topology(prefix))
        for payload in (
            DeclarationRegisteredV1(
                declaration_id="decl-bench", person_kind=PersonKind.NATURAL, email="b@example.org"
            ),
            DeclarationActivatedV1(
                declaration_id="decl-bench",
                account_id="acc-bench",
                activated_at=clock.now(),
                terms_version=1,
                scope=list(ActNature),
                valid_until=None,
                territory="metropole",
            ),
        ):
            envelope = new_envelope(
                payload, subject="declaration:decl-bench", actor="bench", clock=clock
            )
            await publisher.publish(envelope)
    finally:
        await broker.stop()


class _Identity:
    """Signs tokens and serves the JWKS delivery verifies them with."""

    def __init__(self, clock_offset: float) -> None:
        # Tokens are dated in the service's (shifted) time, as identity would date them there.
        self.clock_offset = clock_offset
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": ISSUER_KID, "alg": "EdDSA"}
        self.server = JwksServer(json.dumps({"keys": [jwk]}).encode(), self.service_token)
        self.url = self.server.url

    def service_token(self) -> str:
        """Delivery's client-credentials token, as identity issues it to `service-delivery`."""
        return self.token(
            sub="service-delivery", role="service", scope="consent:status", aud=["consent"]
        )["Authorization"].removeprefix("Bearer ")

    def token(self, **claims: Any) -> dict[str, str]:
        now = int(time.time() + self.clock_offset)
        body = {"iss": self.url, "aud": ["delivery"], "iat": now - 5, "exp": now + 7200, **claims}
        token = jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": ISSUER_KID})
        return {"Authorization": f"Bearer {token}"}

    def office(self) -> dict[str, str]:
        return self.token(
            sub="client-bench", role="office", scope="acts:write", office_id="etude-bench"
        )

    def recipient(self) -> dict[str, str]:
        return self.token(sub="acc-bench", role="recipient", scope="acts:read")

    def close(self) -> None:
        self.server.close()


class _Form:
    """The deposit's multipart body around a prebuilt document: one small concatenation per
    request, so the load generator costs about what minio's client does per PUT."""

    def __init__(self) -> None:
        self.boundary = "bench" + secrets.token_hex(8)
        self.content_type = f"multipart/form-data; boundary={self.boundary}"

    def head(self, key: str) -> bytes:
        meta = json.dumps(
            {
                "declaration_id": DECLARATION,
                "nature": "signification_jugement",
                "title": "Bench",
                "requester_name": "Bench SA",
                "office_reference": key,
            }
        ).encode()
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'.encode()
            + meta
            + f'\r\n--{self.boundary}\r\nContent-Disposition: form-data; name="document"; '
            'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        )

    def tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def body(self, key: str, document: bytes) -> bytes:
        return self.head(key) + document + self.tail()

    async def stream(self, key: str, document: Iterator[bytes]) -> AsyncIterator[bytes]:
        yield self.head(key)
        for chunk in document:
            yield chunk
        yield self.tail()


class _ChunkReader(io.RawIOBase):
    """A file object over a chunk iterator, for minio's `put_object` (it calls `read(n)`)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _window(
    measured: Measured, cpu: dict[str, float], name: str, server: str | None
) -> dict[str, float]:
    """One measured window's rate, latencies and CPU ms per operation."""
    ops = max(1, measured.ops)
    results = {
        f"{name}_s": measured.rate,
        f"{name}_ops": float(measured.ops),
        f"{name}_p50_ms": measured.percentile_ms(0.5),
        f"{name}_p99_ms": measured.percentile_ms(0.99),
    }
    # Every metered process but the load generator serves the operation.
    for process, seconds in cpu.items():
        results[f"{name}_{process}_cpu_ms_per_op"] = seconds * 1000 / ops
    server_cpu = sum(seconds for process, seconds in cpu.items() if process != "client")
    results[f"{name}_server_cpu_ms_per_op"] = server_cpu * 1000 / ops
    return results


class _Bench:
    def __init__(self, root: Path, s3: Seaweed, budget: Budget, document: bytes) -> None:
        self.root, self.s3, self.budget, self.document = root, s3, budget, document
        self.raw = s3.client()
        self.client_ps = psutil.Process()
        self.run_tag = secrets.token_hex(3)

    def meter(
        self,
        server: psutil.Process | None,
        name: str | None,
        also: dict[str, psutil.Process] | None = None,
    ) -> CpuMeter:
        processes = {"s3": self.s3.ps, "client": self.client_ps, **(also or {})}
        if server is not None and name is not None:
            processes[name] = server
        return CpuMeter(processes)

    def raw_puts(self, threads: int, label: str) -> dict[str, float]:
        document = self.document

        def put(n: int) -> None:
            self.raw.put_object("bench-raw", f"{label}/{n}", io.BytesIO(document), len(document))

        meter = self.meter(None, None)
        # Warm-up is inside run_threads; CPU counts only the measured window's share, so the
        # meter starts after a separate warm-up and the measured call runs with warm=0.
        run_threads(put, threads, Budget(self.budget.warm, 0, 0.0), label=f"{label}-warm")
        meter.start()
        measured = run_threads(
            put, threads, Budget(0, self.budget.min_ops, self.budget.min_seconds), label=label
        )
        return _window(measured, meter.stop(), label, None)

    async def http_acts(
        self,
        base: str,
        path: str,
        headers: dict[str, str],
        server: psutil.Process,
        server_name: str,
        label: str,
        profiler: Profiler | None = None,
        also: dict[str, psutil.Process] | None = None,
    ) -> dict[str, float]:
        """Acts posted by `CLIENTS` clients; `also` names the other processes that serve them
        (consent's registry, for delivery), metered with the server."""
        form = _Form()
        document = self.document
        address = urlsplit(base)
        client = RawHttp(address.hostname or "127.0.0.1", address.port or 80, CLIENTS)
        async with client:

            async def act(n: int) -> None:
                key = f"{label}-{self.run_tag}-{n}"
                request = client.request(
                    "POST",
                    path,
                    {"Content-Type": form.content_type, "Idempotency-Key": key, **headers},
                    form.body(key, document),
                )
                status, body = await client.send(request)
                if status != 201:
                    raise RuntimeError(f"{label}: {status} {body[:300]!r}")

            await run_tasks(act, CLIENTS, Budget(self.budget.warm, 0, 0.0))
            meter = self.meter(server, server_name, also)
            meter.start()
            with profiler or contextlib.nullcontext():
                measured = await run_tasks(
                    act, CLIENTS, Budget(0, self.budget.min_ops, self.budget.min_seconds)
                )
            return _window(measured, meter.stop(), label, server_name)

    async def registry_status(
        self, base: str, identity: _Identity, server: psutil.Process
    ) -> dict[str, float]:
        """Consent's status route alone, as delivery asks it at each deposit (same clients,
        same token): the round trip each act now waits for."""
        address = urlsplit(base)
        client = RawHttp(address.hostname or "127.0.0.1", address.port or 80, CLIENTS)
        headers = {"Authorization": f"Bearer {identity.service_token()}"}
        request = client.request(
            "GET", f"/internal/v1/declarations/{DECLARATION}/status", headers, b""
        )
        async with client:

            async def ask(_n: int) -> None:
                status, body = await client.send(request)
                if status != 200 or b'"active":true' not in body.replace(b" ", b""):
                    raise RuntimeError(f"registry: {status} {body[:300]!r}")

            await run_tasks(ask, CLIENTS, Budget(self.budget.warm, 0, 0.0))
            meter = self.meter(server, "consent")
            meter.start()
            measured = await run_tasks(
                ask, CLIENTS, Budget(0, self.budget.min_ops, self.budget.min_seconds)
            )
            return _window(measured, meter.stop(), "registry", "consent")

    # -- big acts ---------------------------------------------------------------------------

    def raw_big(self, size: int, label: str) -> dict[str, float]:
        """Raw S3 with the big object: one throwaway upload (SeaweedFS may grow a volume on
        the first), then each way repeated until `Budget.min_seconds` (at least once)."""
        key = f"big/{label}"

        def one_part(n: int) -> int:
            # As the platform's adapter: unknown length, 5 MiB parts, one in flight.
            self.raw.put_object(
                "bench-raw",
                key,
                cast(BinaryIO, _ChunkReader(pdf_chunks(size, seed=n))),
                -1,
                part_size=PART,
                num_parallel_uploads=1,
            )
            return total

        def parallel(n: int) -> int:
            # minio's default for a known length: parts uploaded in parallel.
            self.raw.put_object(
                "bench-raw",
                f"{key}-parallel",
                cast(BinaryIO, _ChunkReader(pdf_chunks(size, seed=n))),
                total,
                part_size=PART,
            )
            return total

        def download(_n: int) -> int:
            received = 0
            response = self.raw.get_object("bench-raw", key)
            try:
                for chunk in response.stream(64 * 1024):
                    received += len(chunk)
            finally:
                response.close()
                response.release_conn()
            return received

        total = 0
        one_part(0)  # the throwaway
        total = self.raw.stat_object("bench-raw", key).size or 0
        return {
            f"big_raw_upload_{label}_mib_s": self._repeat(one_part),
            f"big_raw_upload_parallel_{label}_mib_s": self._repeat(parallel),
            f"big_raw_download_{label}_mib_s": self._repeat(download),
        }

    def _repeat(self, op: Callable[[int], int]) -> float:
        """MiB/s of `op` (it returns the bytes it moved) run until the budget's seconds."""
        moved, n = 0, 0
        started = time.perf_counter()
        while n == 0 or time.perf_counter() - started < self.budget.min_seconds:
            n += 1
            moved += op(n)
        return moved / MIB / (time.perf_counter() - started)

    async def delivery_big(
        self, base: str, identity: _Identity, child: psutil.Process, size: int
    ) -> dict[str, float]:
        form = _Form()
        baseline = _tree_rss(child)
        peak = baseline
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, _tree_rss(child))
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        key = f"big-{self.run_tag}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=1800) as client:
                started = time.perf_counter()
                response = await client.post(
                    "/v1/acts",
                    content=form.stream(key, pdf_chunks(size, seed=7)),
                    headers={
                        "Content-Type": form.content_type,
                        "Idempotency-Key": key,
                        **identity.office(),
                    },
                )
                upload_s = time.perf_counter() - started
                if response.status_code != 201:
                    raise RuntimeError(f"big deposit: {response.status_code} {response.text[:300]}")
                act_id = response.json()["id"]
                received = 0
                started = time.perf_counter()
                async with client.stream(
                    "GET", f"/v1/inbox/{act_id}/content", headers=identity.recipient()
                ) as stream:
                    async for chunk in stream.aiter_raw():
                        received += len(chunk)
                download_s = time.perf_counter() - started
        finally:
            stop.set()
            await sampler
        growth = (peak - baseline) / MIB
        return {
            "big_act_mib": size / MIB,
            "big_upload_mib_s": size / MIB / upload_s,
            "big_download_mib_s": received / MIB / download_s,
            "big_rss_baseline_mib": baseline / MIB,
            "big_rss_growth_mib": growth,
            "big_rss_growth_under_100mib_ok": 1.0 if growth < 100 else 0.0,
            "big_download_complete_ok": 1.0 if received >= size else 0.0,
        }


def _tree_rss(process: psutil.Process) -> int:
    """RSS of a process and its children (uvicorn's workers when there are several)."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


def _wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited ({process.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _start_delivery(
    root: Path,
    s3: Seaweed,
    identity: _Identity,
    consent: str,
    prefix: str,
    offset: float,
    sink: str,
    big: int,
    workers: int,
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SECURACT_DELIVERY_HTTP_PORT": str(port),
        "SECURACT_DELIVERY_DATA_DIR": str(root / "data"),
        "SECURACT_DELIVERY_BUS_PREFIX": prefix,
        "SECURACT_DELIVERY_AMQP_URL": AMQP_URL,
        "SECURACT_DELIVERY_S3_ENDPOINT": s3.endpoint,
        "SECURACT_DELIVERY_S3_ACCESS_KEY": s3.access_key,
        "SECURACT_DELIVERY_S3_SECRET_KEY": s3.secret_key,
        "SECURACT_DELIVERY_S3_BUCKET": "bench-delivery",
        "SECURACT_DELIVERY_KEK_FILE": str(root / "kek.json"),
        "SECURACT_DELIVERY_SIGNING_KEY_FILE": str(root / "signing.json"),
        "SECURACT_DELIVERY_IDENTITY_URL": identity.url,
        "SECURACT_DELIVERY_CONSENT_URL": consent,
        "SECURACT_DELIVERY_CLOCK_OFFSET_SECONDS": str(offset),
        "SECURACT_DELIVERY_MAX_ACT_BYTES": str(big + 16 * MIB),
        "SECURACT_DELIVERY_ENV": "dev",
        "SECURACT_DELIVERY_HTTP_WORKERS": str(workers),
        # Delivery serves only for offices in its directory.
        "SECURACT_DELIVERY_OFFICES": json.dumps(
            {
                "etude-bench": {
                    "name": "Étude du banc",
                    "email": "etude-bench@example.org",
                    "territory": "metropole",
                }
            }
        ),
        # As compose runs it: spans batched to an OTLP/HTTP collector (here a sink).
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
    }
    for name in ("SECURACT_DELIVERY_LOG_LEVEL", "SECURACT_LOG_LEVEL", "SECURACT_LOG_JSON"):
        env.pop(name, None)  # production's defaults: JSON lines at INFO
    log = (root / "delivery.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "delivery"],
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    return child, f"http://127.0.0.1:{port}"


async def _seed_consent(store_url: str, now: datetime) -> None:
    """The declaration the bench serves to, active in consent's own store (registering one
    through the API needs proofs and an activation; the serving path only reads it)."""
    store = open_store(store_url, "consent")
    await store.connect()
    try:
        await store.ensure_indexes(CONSENT_INDEXES)
        declaration = Declaration(
            id=DECLARATION,
            status=DeclarationStatus.ACTIVE,
            person_kind=PersonKind.NATURAL,
            scope=tuple(ActNature),
            territory=Territory.METROPOLE,
            office_id="etude-bench",
            registered_at=now,
            account_id="acc-bench",
            history=(HistoryEntry(status=DeclarationStatus.ACTIVE, at=now, cause="bench"),),
            active_at=now,
        )
        async with store.transaction() as tx:
            await declarations(store).add(tx, declaration, now)
    finally:
        await store.close()


def _start_consent(
    root: Path, s3: Seaweed, identity: _Identity, prefix: str, offset: float, sink: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Consent's registry (`python -m consent`), asked by delivery at each deposit."""
    port = free_port()
    store_url = f"sqlite:///{root / 'consent' / 'consent.sqlite3'}"
    (root / "consent").mkdir()
    asyncio.run(_seed_consent(store_url, SystemClock().now()))
    env = {
        **os.environ,
        "SECURACT_CONSENT_HTTP_PORT": str(port),
        "SECURACT_CONSENT_STORE_URL": store_url,
        "SECURACT_CONSENT_DATA_DIR": str(root / "consent"),
        "SECURACT_CONSENT_BUS_PREFIX": prefix,
        "SECURACT_CONSENT_AMQP_URL": AMQP_URL,
        "SECURACT_CONSENT_S3_ENDPOINT": s3.endpoint,
        "SECURACT_CONSENT_S3_ACCESS_KEY": s3.access_key,
        "SECURACT_CONSENT_S3_SECRET_KEY": s3.secret_key,
        "SECURACT_CONSENT_S3_BUCKET": "bench-consent",
        "SECURACT_CONSENT_KEK_FILE": str(root / "consent-kek.json"),
        "SECURACT_CONSENT_SIGNING_KEY_FILE": str(root / "consent-signing.json"),
        "SECURACT_CONSENT_IDENTITY_URL": identity.url,
        "SECURACT_CONSENT_CLOCK_OFFSET_SECONDS": str(offset),
        "SECURACT_CONSENT_ENV": "dev",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
    }
    for name in ("SECURACT_CONSENT_LOG_LEVEL", "SECURACT_LOG_LEVEL", "SECURACT_LOG_JSON"):
        env.pop(name, None)
    log = (root / "consent.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-m", "consent"], env=env, stdout=log, stderr=log, start_new_session=True
    )
    log.close()
    return child, f"http://127.0.0.1:{port}"


def _start_floor(s3: Seaweed) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.floor_app",
            str(port),
            s3.endpoint,
            s3.access_key,
            "bench-floor",
        ],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    assert child.stdin is not None
    child.stdin.write(s3.secret_key.encode() + b"\n")
    child.stdin.close()
    return child, f"http://127.0.0.1:{port}"


def _ratios(results: dict[str, float]) -> None:
    rate = results["delivery_s"]
    for when in ("before", "after"):
        for threads in ("1t", "8t"):
            raw = results[f"raw_put_{threads}_{when}_s"]
            results[f"delivery_vs_raw_{threads}_{when}"] = rate / raw if raw else 0.0
        floor = results[f"floor_{when}_s"]
        results[f"delivery_vs_floor_{when}"] = rate / floor if floor else 0.0
        for way in ("upload", "download"):
            raw = results.get(f"big_raw_{way}_{when}_mib_s", 0.0)
            if raw and f"big_{way}_mib_s" in results:
                results[f"big_{way}_vs_raw_{when}"] = results[f"big_{way}_mib_s"] / raw


def measure(
    quick: bool = False, big_mib: int | None = None, profile: bool = False, workers: int = 1
) -> dict[str, float]:
    budget = Budget.of(quick)
    big = (big_mib or (8 if quick else BIG_MIB)) * MIB
    prefix = f"bench{secrets.token_hex(3)}."
    offset = (TUESDAY_10H_PARIS - SystemClock().now()).total_seconds()
    children: list[subprocess.Popen[bytes]] = []
    identity = _Identity(offset)
    try:
        with (
            workdir("securact-delivery-bench-") as root,
            seaweed(root / "s3", ("bench-raw", "bench-floor")) as s3,
            otlp_sink() as sink,
        ):
            consent, consent_base = _start_consent(root, s3, identity, prefix, offset, sink)
            children.append(consent)
            _wait_http(f"{consent_base}/health/ready", consent)
            delivery, base = _start_delivery(
                root, s3, identity, consent_base, prefix, offset, sink, big, workers
            )
            children.append(delivery)
            floor, floor_base = _start_floor(s3)
            children.append(floor)
            _wait_http(f"{base}/health/ready", delivery)
            _wait_http(f"{floor_base}/health", floor)
            asyncio.run(_consent(prefix))
            time.sleep(2.0)  # delivery's projection (its views) learns the consent too
            document = b"".join(pdf_chunks(SMALL_CONTENT))
            bench = _Bench(root, s3, budget, document)
            delivery_ps, floor_ps = psutil.Process(delivery.pid), psutil.Process(floor.pid)
            consent_ps = psutil.Process(consent.pid)
            results: dict[str, float] = {
                "pdf_bytes": float(len(document)),
                "delivery_workers": float(workers),
            }

            def baselines(when: str) -> None:
                results.update(bench.raw_puts(1, f"raw_put_1t_{when}"))
                results.update(bench.raw_puts(CLIENTS, f"raw_put_8t_{when}"))
                results.update(
                    asyncio.run(
                        bench.http_acts(floor_base, "/acts", {}, floor_ps, "floor", f"floor_{when}")
                    )
                )

            baselines("before")
            results.update(_idle(delivery_ps))
            PROFILE.parent.mkdir(parents=True, exist_ok=True)
            profiler = Profiler(delivery.pid, PROFILE, profile)
            results.update(
                asyncio.run(
                    bench.http_acts(
                        base,
                        "/v1/acts",
                        identity.office(),
                        delivery_ps,
                        "delivery",
                        "delivery",
                        profiler if profile else None,
                        {"consent": consent_ps},
                    )
                )
            )
            results.update(asyncio.run(bench.registry_status(consent_base, identity, consent_ps)))
            baselines("after")
            results.update(bench.raw_big(big, "before"))
            results.update(asyncio.run(bench.delivery_big(base, identity, delivery_ps, big)))
            results.update(bench.raw_big(big, "after"))
            results["delivery_acts_s"] = results["delivery_s"]
            results["delivery_process_cpu_ms_per_act"] = results["delivery_delivery_cpu_ms_per_op"]
            results["delivery_server_cpu_ms_per_act"] = results["delivery_server_cpu_ms_per_op"]
            _ratios(results)
            results.update(_log_levels(root / "delivery.log"))
            if profile:
                _print_profile(profiler)
            return results
    finally:
        for child in children:
            stop_process(child)
        identity.close()
        asyncio.run(
            delete_prefixed(
                AMQP_URL,
                prefix,
                extra_queues=tuple(
                    f"{prefix}{q}{s}"
                    for q in ("delivery.parties", "delivery.notifications", "delivery.erasures")
                    for s in ("", ".dlq", ".retry")
                ),
            )
        )


def _idle(delivery: psutil.Process) -> dict[str, float]:
    """Delivery's CPU with no request (relay polling, exporters, heartbeats), in ms per second:
    per act it weighs more the fewer acts a loaded machine lets through, which this tells."""
    meter = CpuMeter({"delivery": delivery})
    meter.start()
    time.sleep(IDLE_SECONDS)
    return {"delivery_idle_cpu_ms_per_s": meter.stop()["delivery"] * 1000 / IDLE_SECONDS}


def _log_levels(path: Path) -> dict[str, float]:
    """Warnings and errors delivery logged during the run (its JSON lines), the first of each
    printed: a run whose exporter or bus kept failing is not a measurement."""
    counts = {"WARNING": 0, "ERROR": 0, "CRITICAL": 0}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            level = json.loads(line).get("level")
        except ValueError:
            continue
        if level in counts:
            if not counts[level]:
                print(f"  delivery logged {level}: {line[:300]}")
            counts[level] += 1
    return {
        "delivery_log_warnings": float(counts["WARNING"]),
        "delivery_log_errors": float(counts["ERROR"] + counts["CRITICAL"]),
    }


def _print_profile(profiler: Profiler) -> None:
    if not profiler.available:
        print("  profile: py-spy is not installed (uv sync installs the dev group)")
        return
    total, top = profiler.top(10)
    if not top:
        print("  profile: py-spy recorded nothing (ptrace refused?)")
        return
    print(f"  delivery, top 10 frames by GIL-held samples (py-spy --gil), of {total}:")
    for samples, frame in top:
        print(f"    {samples:>7}  {100 * samples / total:5.1f}%  {frame}")


def run(
    quick: bool = False,
    big_mib: int | None = None,
    profile: bool = False,
    workers: int | None = None,
) -> dict[str, float]:
    """Every measurement of the module doc; `quick` only checks that they run end to end;
    `workers`: delivery's HTTP worker processes (1 by default; its CPU and RSS are summed)."""
    return measure(quick, big_mib, profile, workers or 1)


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv, profile="--profile" in sys.argv), indent=2))
