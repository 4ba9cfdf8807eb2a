"""What the benchmarks share: how long a baseline is warmed and measured, rate loops over
threads and over asyncio tasks, per-process CPU counters, a throwaway SeaweedFS, an OTLP sink.

A baseline is never measured cold nor once: `Budget.warm` throwaway operations first, then at
least `Budget.min_ops` operations or `Budget.min_seconds` (whichever is reached first), and the
benchmarks measure it before and after the platform path, in the same run.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
from minio import Minio

from devstack.seaweed import SeaweedPorts, weed_command, write_s3_config

log = logging.getLogger("bench")

AMQP_URL = os.environ.get("SECURACT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@dataclass(frozen=True)
class Budget:
    """How much each measurement runs."""

    warm: int = 200
    min_ops: int = 1000
    min_seconds: float = 5.0

    @classmethod
    def of(cls, quick: bool) -> Budget:
        # Quick: checks that everything runs end to end; its numbers mean nothing.
        return cls(warm=10, min_ops=40, min_seconds=0.5) if quick else cls()


@dataclass
class Measured:
    """One measured window: operations, seconds, per-operation latencies."""

    ops: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Window:
    """Hands out operation numbers until the budget is spent (first of ops or seconds)."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.lock = threading.Lock()
        self.issued = 0
        self.started = time.perf_counter()

    def take(self) -> int | None:
        with self.lock:
            elapsed = time.perf_counter() - self.started
            if self.issued >= self.budget.min_ops or elapsed >= self.budget.min_seconds:
                return None
            self.issued += 1
            return self.issued


def run_threads(
    op: Callable[[int], None], threads: int, budget: Budget, *, label: str = "op"
) -> Measured:
    """`budget.warm` throwaway calls of `op`, then `op` on `threads` threads until the budget
    is spent; the window ends when the last operation started in it finishes."""
    warm = iter(range(budget.warm))
    warm_lock = threading.Lock()

    def warm_worker() -> None:
        while True:
            with warm_lock:
                n = next(warm, None)
            if n is None:
                return
            op(-1 - n)

    _join([threading.Thread(target=warm_worker, name=f"warm-{label}") for _ in range(threads)])
    window = _Window(budget)
    latencies: list[float] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while (n := window.take()) is not None:
                started = time.perf_counter()
                op(n)
                latencies.append(time.perf_counter() - started)
        except BaseException as error:
            errors.append(error)

    _join([threading.Thread(target=worker, name=f"bench-{label}") for _ in range(threads)])
    seconds = time.perf_counter() - window.started
    if errors:
        raise errors[0]
    return Measured(len(latencies), seconds, latencies)


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def run_tasks(
    op: Callable[[int], Awaitable[None]], concurrency: int, budget: Budget
) -> Measured:
    """The same as `run_threads`, with `concurrency` asyncio tasks."""
    warm = iter(range(budget.warm))

    async def warm_worker() -> None:
        while (n := next(warm, None)) is not None:
            await op(-1 - n)

    await asyncio.gather(*(warm_worker() for _ in range(concurrency)))
    window = _Window(budget)
    latencies: list[float] = []

    async def worker() -> None:
        while (n := window.take()) is not None:
            started = time.perf_counter()
            await op(n)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Measured(len(latencies), time.perf_counter() - window.started, latencies)


class CpuMeter:
    """CPU seconds (user + system, children included) of named processes over a window."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self._start: dict[str, float] = {}

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            # Live children too (uvicorn's worker processes): their times reach
            # `children_*` only once they have exited. Not the load generator's (this
            # process): its children are the servers under test, metered on their own.
            children = [] if process.pid == os.getpid() else process.children(recursive=True)
            for child in children:
                with contextlib.suppress(psutil.Error):
                    own = child.cpu_times()
                    total += own.user + own.system
            return float(total)
        except psutil.Error:
            return 0.0

    def start(self) -> None:
        self._start = {name: self._cpu(p) for name, p in self.processes.items()}

    def stop(self) -> dict[str, float]:
        """CPU seconds per process since `start`."""
        return {name: self._cpu(p) - self._start[name] for name, p in self.processes.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to the process group started for `process`, then wait (SIGKILL if it hangs)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass(frozen=True)
class Seaweed:
    process: subprocess.Popen[bytes]
    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)

    def client(self) -> Minio:
        return Minio(
            self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False
        )

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)


@contextlib.contextmanager
def seaweed(root: Path, buckets: tuple[str, ...] = ()) -> Iterator[Seaweed]:
    """A fresh SeaweedFS (`weed mini`, loopback, random ports) with `buckets` created."""
    access, secret = "bench", secrets.token_hex(16)
    ports = SeaweedPorts.from_base(21000 + secrets.randbelow(400) * 10)
    (root / "weed").mkdir(parents=True, exist_ok=True)
    config = write_s3_config(root / "s3.json", access, secret)
    process = subprocess.Popen(
        weed_command(root / "weed", config, ports),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Seaweed(process, f"127.0.0.1:{ports.s3}", access, secret)
    try:
        client = server.client()
        deadline = time.monotonic() + 60
        for bucket in buckets:
            while True:
                try:
                    client.make_bucket(bucket)
                    break
                except Exception:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.3)
        yield server
    finally:
        stop_process(process, timeout=10)


_SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that accepts and drops spans, in its own process: services under
    test export their spans as in production (batched, over HTTP) without a collector."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _SINK, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the OTLP sink did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, timeout=5)


_shared_sink: str | None = None


def shared_otlp_sink() -> str:
    """One `otlp_sink` for the whole bench process, stopped at exit: the OpenTelemetry
    provider of a process is built once, so an in-process service's exporter outlives the
    benchmark that set it up."""
    global _shared_sink
    if _shared_sink is None:
        sink = otlp_sink()
        _shared_sink = sink.__enter__()
        atexit.register(sink.__exit__, None, None, None)
    return _shared_sink


class JwksServer:
    """Serves one JWKS document and an empty revocation list on loopback (what identity
    exposes), in a thread, and, given `issue`, identity's token endpoint for service clients
    (`POST /oauth/token` answering a client-credentials grant with `issue()`'s token)."""

    def __init__(self, document: bytes, issue: Callable[[], str] | None = None) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/v1/revocations"):
                    # Nothing revoked: a starting service fetches this, as from identity.
                    self._answer(200, b'{"sessions": [], "subjects": []}')
                    return
                found = self.path.endswith("jwks.json")
                self._answer(200 if found else 404, document if found else b"{}")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if issue is None or not self.path.endswith("/oauth/token"):
                    self._answer(404, b"{}")
                    return
                body = {"access_token": issue(), "token_type": "Bearer", "expires_in": 3600}
                self._answer(200, json.dumps(body).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


class Profiler:
    """py-spy record of one process for the duration of a block, then its top frames by
    samples with the GIL held (`--gil`): where the process spends its interpreter time."""

    def __init__(self, pid: int, out: Path, enabled: bool) -> None:
        self.pid, self.out, self.enabled = pid, out, enabled
        self.process: subprocess.Popen[bytes] | None = None
        self.available = enabled and _py_spy() is not None

    def __enter__(self) -> Profiler:
        if self.available:
            self.process = subprocess.Popen(
                [
                    str(_py_spy()),
                    "record",
                    "--pid",
                    str(self.pid),
                    "--subprocesses",  # uvicorn's workers, when there are several
                    "--gil",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(self.out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        return self

    def __exit__(self, *_exc: object) -> None:
        process, self.process = self.process, None  # idempotent: stopped once
        if process is not None:
            # SIGINT makes py-spy write what it sampled and exit.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)

    def top(self, count: int = 10) -> tuple[int, list[tuple[int, str]]]:
        """Every sample, and (samples, frame) of the `count` frames seen most often on top of
        a stack, from the collapsed-stack file py-spy wrote."""
        if not self.out.exists():
            return 0, []
        counts: dict[str, int] = {}
        for line in self.out.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, samples = line.rpartition(" ")
            if not stack or not samples.isdigit():
                continue
            leaf = stack.split(";")[-1]
            counts[leaf] = counts.get(leaf, 0) + int(samples)
        ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
        return sum(counts.values()), [(samples, frame) for frame, samples in ranked[:count]]


def _py_spy() -> Path | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return candidate if candidate.exists() else None


class RawHttp:
    """The cheapest load generator asyncio allows: `connections` keep-alive HTTP/1.1
    connections writing prebuilt requests and reading `Content-Length` answers, so a request
    costs the client about what minio's client costs per PUT (httpx costs several times more,
    and on a small machine the client's CPU is taken from the server under test)."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port, self.connections = host, port, connections
        self._pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._open: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> RawHttp:
        for _ in range(self.connections):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self._open.append(writer)
            self._pool.put_nowait((reader, writer))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for writer in self._open:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """(status, body) of one prebuilt request, on the next free connection."""
        reader, writer = await self._pool.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"transfer-encoding":
                    raise RuntimeError("chunked answers are not read by this client")
            body = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        self._pool.put_nowait((reader, writer))
        return status, body


CLEANUP_SECONDS = 60.0


async def delete_prefixed(
    url: str,
    prefix: str,
    *,
    extra_queues: tuple[str, ...] = (),
    extra_exchanges: tuple[str, ...] = (),
) -> None:
    """Delete what a benchmark declared under `prefix` (the platform topology, `extra_queues`,
    `extra_exchanges`), best effort and bounded: a broker that stops answering must not hang
    the run after its results are in."""
    import aio_pika

    from shared.messaging.topology import Topology, delete_topology

    async def everything() -> list[str]:
        failed = await delete_topology(url, Topology(prefix), extra_queues=extra_queues)
        if extra_exchanges:
            connection = await aio_pika.connect(url)
            try:
                for name in extra_exchanges:
                    channel = await connection.channel()
                    try:
                        await channel.exchange_delete(name)
                    except aio_pika.exceptions.AMQPError:
                        failed.append(name)
                    finally:
                        if not channel.is_closed:
                            await channel.close()
            finally:
                await connection.close()
        return failed

    try:
        failed = await asyncio.wait_for(everything(), CLEANUP_SECONDS)
    except (TimeoutError, OSError) as error:
        log.warning("could not clean up %s* on RabbitMQ (%s)", prefix, type(error).__name__)
        return
    for name in failed:
        log.warning("could not delete %s", name)
