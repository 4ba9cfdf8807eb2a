"""Readiness names what does not answer: the store, the broker, the object store.
Building an app connects to nothing; liveness never depends on a dependency."""

from __future__ import annotations

import asyncio
import importlib
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from yarl import URL

from consent.main import create_app
from devstack.stack import SERVICE_PORTS
from shared.clock import SystemClock
from shared.runtime import ServiceRuntime
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import consent_settings
from tests.support.services import running, service_env
from tests.unit.consent.support import Tokens


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_building_an_app_connects_to_nothing(name: str, tmp_path: Path) -> None:
    # Every address points at a closed port: building must still succeed, instantly.
    closed = f"127.0.0.1:{_closed_port()}"
    settings_class: Any = importlib.import_module(f"{name}.settings").Settings
    values: dict[str, Any] = {
        **service_env(tmp_path, "never-"),
        "amqp_url": f"amqp://guest:guest@{closed}/",
        "identity_url": f"http://{closed}",
    }
    if "s3_endpoint" in settings_class.model_fields:
        values["s3_endpoint"] = closed
    app = importlib.import_module(f"{name}.main").create_app(settings_class(**values))
    assert isinstance(app, FastAPI)
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


async def _status(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.get(path)


async def test_object_store_away_makes_the_service_unready_not_dead(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    away = S3Server(f"127.0.0.1:{_closed_port()}", s3_server.access_key, s3_server.secret_key)
    app = create_app(
        consent_settings(tmp_path, bus_prefix, away),
        token_verifier=Tokens(SystemClock()).verifier(),
    )
    async with running(app):
        ready = await _status(app, "/health/ready")
        live = await _status(app, "/health/live")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"] == {"store": True, "broker": True, "objects": False}
    assert ready.json()["detail"] == "unavailable: objects"


async def test_a_store_that_does_not_answer_makes_the_service_unready(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(
        consent_settings(tmp_path, bus_prefix, s3_server),
        token_verifier=Tokens(SystemClock()).verifier(),
    )
    async with running(app):
        runtime: ServiceRuntime = app.state.runtime

        async def hung() -> None:
            await asyncio.Event().wait()  # a store that accepts and never answers

        monkeypatch.setattr(runtime.store, "ping", hung)
        ready = await _status(app, "/health/ready")
        live = await _status(app, "/health/live")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"] is False
    assert ready.json()["checks"]["objects"] is True


class FreezableProxy:
    """A TCP proxy to RabbitMQ that can stop passing bytes both ways while keeping both
    connections open: a network partition, as the service's socket sees it."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self.flowing.wait()  # frozen: held, neither passed nor refused
                sink.write(data)
                await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            sink.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pumps):
            task.cancel()


async def test_a_broker_that_stops_answering_makes_the_service_unready_within_seconds(
    tmp_path: Path, bus_prefix: str, amqp_url: str
) -> None:
    upstream = URL(amqp_url)
    proxy = FreezableProxy(upstream.host or "127.0.0.1", upstream.port or 5672)
    await proxy.start()
    through_proxy = str(upstream.with_host("127.0.0.1").with_port(proxy.port))
    settings: Any = importlib.import_module("notify.settings").Settings
    app = importlib.import_module("notify.main").create_app(
        settings(**service_env(tmp_path, bus_prefix, amqp_url=through_proxy))
    )
    try:
        async with running(app):
            assert (await _status(app, "/health/ready")).status_code == 200
            proxy.freeze()
            loop = asyncio.get_running_loop()
            frozen_at = loop.time()
            while (ready := await _status(app, "/health/ready")).status_code == 200:
                assert loop.time() - frozen_at < 5, "still ready 5 s into the partition"
                await asyncio.sleep(0.2)
            noticed_after = loop.time() - frozen_at
            assert ready.json()["checks"]["broker"] is False
            assert ready.json()["checks"]["store"] is True

            proxy.thaw()  # the partition heals: ready again, on the same connection
            healed_at = loop.time()
            while (await _status(app, "/health/ready")).status_code != 200:
                assert loop.time() - healed_at < 10, "not ready again 10 s after the partition"
                await asyncio.sleep(0.2)
    finally:
        proxy.thaw()
        await proxy.stop()
    assert noticed_after < 5
