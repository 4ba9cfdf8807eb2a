"""Delivery gateway: acts per second for 100 KB PDFs at 8 concurrent clients against raw S3 PUTs
of the same bytes in the same run, p50/p99 latency, and the delivery process's peak RSS while a
500 MiB act is uploaded and downloaded.

The bench starts its own SeaweedFS (from the venv) and runs delivery as a child process (uvicorn,
SQLite, the real bus under a random prefix) whose clock is shifted into a Tuesday morning so the
CPC 664 window is open whenever the bench runs. Tokens are signed here and verified by the child
against a JWKS served from this process; the consent it serves on arrives over the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from minio import Minio

from devstack.seaweed import SeaweedPorts, weed_command, write_s3_config
from shared.clock import SystemClock
from shared.contracts.consent import (
    ActNature,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    PersonKind,
)
from shared.contracts.envelope import new_envelope
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology, delete_topology

NEEDS_RABBITMQ = True
TARGETS = {"delivery_vs_s3_ratio": (">=", 0.6)}

AMQP_URL = os.environ.get("SECURACT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
MIB = 1024 * 1024
SMALL_ACTS = 200
CLIENTS = 8
SMALL_CONTENT = 100 * 1024 - 600
BIG_CONTENT = 500 * MIB
TUESDAY_10H_PARIS = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
ISSUER_KID = "bench"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


class _Jwks(BaseHTTPRequestHandler):
    document = b"{}"

    def do_GET(self) -> None:
        body = self.document if self.path.endswith("jwks.json") else b"{}"
        self.send_response(200 if self.path.endswith("jwks.json") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


class _Identity:
    """Signs tokens and serves the JWKS the child verifies them with."""

    def __init__(self, clock_offset: float) -> None:
        # Tokens are dated in the service's (shifted) time, as identity would date them there.
        self.clock_offset = clock_offset
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        import base64

        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": ISSUER_KID, "alg": "EdDSA"}
        _Jwks.document = json.dumps({"keys": [jwk]}).encode()
        self.port = _free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _Jwks)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def token(self, **claims: Any) -> dict[str, str]:
        now = int(time.time() + self.clock_offset)
        body = {"iss": self.url, "aud": ["delivery"], "iat": now - 5, "exp": now + 3600, **claims}
        token = jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": ISSUER_KID})
        return {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        self.server.shutdown()


def _multipart(document: Iterator[bytes], key: str) -> tuple[Iterator[bytes], str]:
    boundary = "bench" + secrets.token_hex(8)
    meta = json.dumps(
        {
            "declaration_id": "decl-bench",
            "nature": "signification_jugement",
            "title": "Bench",
            "requester_name": "Bench SA",
            "office_reference": key,
        }
    ).encode()

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'.encode()
            + meta
            + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="document"; '
            'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        )
        yield from document
        yield f"\r\n--{boundary}--\r\n".encode()

    return body(), f"multipart/form-data; boundary={boundary}"


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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


async def _small_acts(base: str, identity: _Identity, document: bytes) -> tuple[float, list[float]]:
    office = identity.token(
        sub="client-bench", role="office", scope="acts:write", office_id="etude-bench"
    )
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(SMALL_ACTS):
        queue.put_nowait(n)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body, content_type = _multipart(iter([document]), f"small-{n}")
            started = time.perf_counter()
            response = await client.post(
                "/v1/acts",
                content=b"".join(body),
                headers={"Content-Type": content_type, "Idempotency-Key": f"small-{n}", **office},
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"deposit failed: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return SMALL_ACTS / elapsed, latencies


def _raw_puts(s3: Minio, bucket: str, document: bytes) -> float:
    counter = iter(range(SMALL_ACTS))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            s3.put_object(bucket, f"raw/{n}", io.BytesIO(document), len(document))

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return SMALL_ACTS / (time.perf_counter() - started)


async def _big_act(base: str, identity: _Identity, child: psutil.Process) -> dict[str, float]:
    office = identity.token(
        sub="client-bench", role="office", scope="acts:write", office_id="etude-bench"
    )
    recipient = identity.token(sub="acc-bench", role="recipient", scope="acts:read")
    baseline = child.memory_info().rss
    peak = baseline
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, child.memory_info().rss)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        body, content_type = _multipart(pdf_chunks(BIG_CONTENT, seed=7), "big")
        started = time.perf_counter()
        response = await client.post(
            "/v1/acts",
            content=_aiter(body),
            headers={"Content-Type": content_type, "Idempotency-Key": "big", **office},
        )
        upload_s = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(f"big deposit failed: {response.status_code} {response.text[:200]}")
        act_id = response.json()["id"]
        received = 0
        started = time.perf_counter()
        async with client.stream("GET", f"/v1/inbox/{act_id}/content", headers=recipient) as stream:
            async for chunk in stream.aiter_raw():
                received += len(chunk)
        download_s = time.perf_counter() - started
    stop.set()
    await sampler
    growth = (peak - baseline) / MIB
    return {
        "big_act_mib": BIG_CONTENT / MIB,
        "big_upload_mib_s": BIG_CONTENT / MIB / upload_s,
        "big_download_mib_s": received / MIB / download_s,
        "rss_baseline_mib": baseline / MIB,
        "rss_peak_growth_mib": growth,
        "rss_growth_under_100mib_ok": 1.0 if growth < 100 else 0.0,
        "big_download_complete_ok": 1.0 if received > BIG_CONTENT else 0.0,
    }


def _wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def run() -> dict[str, float]:
    prefix = f"bench{secrets.token_hex(3)}."
    with tempfile.TemporaryDirectory(prefix="securact-delivery-bench-") as root_name:
        root = Path(root_name)
        access, secret = "bench", secrets.token_hex(16)
        ports = SeaweedPorts.from_base(21000 + secrets.randbelow(400) * 10)
        (root / "weed").mkdir()
        config = write_s3_config(root / "s3.json", access, secret)
        weed = subprocess.Popen(
            weed_command(root / "weed", config, ports),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        offset = (TUESDAY_10H_PARIS - SystemClock().now()).total_seconds()
        identity = _Identity(offset)
        child: subprocess.Popen[bytes] | None = None
        try:
            s3 = Minio(f"127.0.0.1:{ports.s3}", access_key=access, secret_key=secret, secure=False)
            deadline = time.monotonic() + 60
            while True:
                try:
                    s3.make_bucket("bench-raw")
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            port = _free_port()
            env = {
                **os.environ,
                "SECURACT_DELIVERY_HTTP_PORT": str(port),
                "SECURACT_DELIVERY_DATA_DIR": str(root / "data"),
                "SECURACT_DELIVERY_BUS_PREFIX": prefix,
                "SECURACT_DELIVERY_AMQP_URL": AMQP_URL,
                "SECURACT_DELIVERY_S3_ENDPOINT": f"127.0.0.1:{ports.s3}",
                "SECURACT_DELIVERY_S3_ACCESS_KEY": access,
                "SECURACT_DELIVERY_S3_SECRET_KEY": secret,
                "SECURACT_DELIVERY_S3_BUCKET": "bench-delivery",
                "SECURACT_DELIVERY_KEK_FILE": str(root / "kek.json"),
                "SECURACT_DELIVERY_SIGNING_KEY_FILE": str(root / "signing.json"),
                "SECURACT_DELIVERY_IDENTITY_URL": identity.url,
                "SECURACT_DELIVERY_CLOCK_OFFSET_SECONDS": str(offset),
                "SECURACT_DELIVERY_MAX_ACT_BYTES": str(600 * MIB),
                "SECURACT_DELIVERY_LOG_LEVEL": "WARNING",
                "SECURACT_DELIVERY_ENV": "dev",
            }
            child = subprocess.Popen(
                [sys.executable, "-m", "delivery"], env=env, start_new_session=True
            )
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/health/live")
            _wait_http(f"{base}/health/ready")
            asyncio.run(_consent(prefix))
            time.sleep(2.0)  # the consumer projects the consent
            document = b"".join(pdf_chunks(SMALL_CONTENT))
            raw_rate = _raw_puts(s3, "bench-raw", document)
            rate, latencies = asyncio.run(_small_acts(base, identity, document))
            results = {
                "pdf_bytes": float(len(document)),
                "s3_raw_puts_per_s": raw_rate,
                "delivery_acts_per_s": rate,
                "delivery_vs_s3_ratio": rate / raw_rate,
                "latency_p50_ms": _percentile(latencies, 0.5) * 1000,
                "latency_p99_ms": _percentile(latencies, 0.99) * 1000,
            }
            results.update(asyncio.run(_big_act(base, identity, psutil.Process(child.pid))))
            return results
        finally:
            if child is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(weed.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                weed.wait(timeout=10)
            identity.close()
            asyncio.run(
                delete_topology(
                    AMQP_URL,
                    Topology(prefix),
                    extra_queues=tuple(
                        f"{prefix}{q}{s}"
                        for q in ("delivery.parties", "delivery.notifications")
                        for s in ("", ".dlq", ".retry")
                    ),
                )
            )


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
