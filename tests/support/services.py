"""Run real service apps in the test process: their lifespan, their HTTP API through ASGI, their
own SQLite files, and the real RabbitMQ under an isolated name prefix."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from shared.runtime import ServiceRuntime


def service_env(data_dir: Path, bus_prefix: str, **extra: str) -> dict[str, Any]:
    """Settings keyword arguments shared by every service under test."""
    return {
        "data_dir": data_dir,
        "bus_prefix": bus_prefix,
        "log_json": False,
        "outbox_poll_seconds": 0.2,
        **extra,
    }


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan, wait for its broker, and give an HTTP client to it."""
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        await asyncio.wait_for(runtime.broker_started.wait(), 30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


async def eventually(
    probe: Callable[[], Awaitable[bool]], *, within: float = 30.0, every: float = 0.1
) -> None:
    """Wait until `probe()` is true; fail with a timeout otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await probe():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)


@asynccontextmanager
async def serving(app: FastAPI, port: int = 0) -> AsyncIterator[int]:
    """Serve the app with uvicorn on `port` (a free one by default) of this event loop (its
    lifespan included); the port, once the server listens. A given port lets a service stopped
    by the test come back where its callers expect it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[_listening_socket(port)]))
    try:
        await eventually(lambda: _started(server), within=30)
        runtime: ServiceRuntime = app.state.runtime
        await asyncio.wait_for(runtime.broker_started.wait(), 30)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def _started(server: uvicorn.Server) -> bool:
    return server.started


def _listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class ServedInThread:
    """The app under uvicorn in a thread of its own (its own event loop, its lifespan), for
    synchronous clients: `with ServedInThread(app) as base_url: ...`."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._socket = _listening_socket()
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="served-app", daemon=True)

    def _serve(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the app did not start under uvicorn")
            time.sleep(0.05)
        # As `running`: the broker connected, so readiness and event writes are those of a
        # service in its steady state.
        runtime: ServiceRuntime = self.app.state.runtime
        while not runtime.broker_started.is_set():
            if time.monotonic() > deadline:
                raise AssertionError("the app did not reach the broker")
            time.sleep(0.05)
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)
