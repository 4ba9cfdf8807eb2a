"""A real SMTP server (aiosmtpd, in a thread of the test process) whose answers a test scripts
(451 then accept, 550 at RCPT…), and the notify service running against it and RabbitMQ."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from notify.main import create_app
from notify.settings import Settings
from shared.auth import TokenVerifier
from shared.contracts.envelope import Envelope as BusEnvelope
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.support.services import running, service_env
from tests.unit.notify.events import LINKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    at: float  # time.time() when the server accepted the message
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class ScriptedHandler:
    """Answers RCPT and DATA from the scripts first (e.g. "451 4.3.0 Try again later"), then
    accepts and keeps every message. With `data_delay`, a message is kept at once but its 250
    comes that many seconds later (a slow relay); `data_received` tells that one got there."""

    rcpt_script: list[str] = field(default_factory=list)
    data_script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    refusals: int = 0
    data_delay: float = 0.0
    data_received: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._lock:
            if self.rcpt_script:
                self.refusals += 1
                return self.rcpt_script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self._lock:
            if self.data_script:
                self.refusals += 1
                return self.data_script.pop(0)
            parsed = email.message_from_bytes(
                envelope.original_content or b"", policy=email.policy.default
            )
            assert isinstance(parsed, EmailMessage)
            self.received.append(Received(time.time(), tuple(envelope.rcpt_tos), parsed))
        self.data_received.set()
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 Accepted"

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)


class SmtpServer:
    """aiosmtpd on a fixed port; can be started late (the "relay is down" case)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = ScriptedHandler()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def notify_settings(tmp_path: Path, bus_prefix: str, smtp_port: int, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        **service_env(tmp_path / "notify", bus_prefix),
        "smtp_port": smtp_port,
        "smtp_timeout_seconds": 5.0,
        "claim_timeout_seconds": 30.0,
        "retry_first_delay_seconds": 0.1,
        "retry_max_delay_seconds": 0.5,
        "idle_poll_seconds": 0.05,
        "mail_from": "SECURACT <ne-pas-repondre@securact.fr>",
        "message_id_domain": "notify.securact.test",
    }
    values.update(extra)
    return Settings(**values)


@dataclass
class NotifyUnderTest:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def publish(self, *envelopes: BusEnvelope) -> None:
        """Publish through notify's own outbox: the events go round the real broker."""
        async with self.runtime.outbox.transaction() as tx:
            for envelope in envelopes:
                await self.runtime.outbox.add(tx, envelope)

    async def outbox_events(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.runtime.store.find(OUTBOX, {"envelope.type": event_type})
        return [row["envelope"] for row in rows]


def identity_stand_in(links: dict[str, str] | None = None) -> httpx.AsyncClient:
    """Identity's token endpoint and links route for notify-only tests, answering the links of
    `tests.unit.notify.events` (the e2e flows run notify against the real identity)."""
    known = dict(LINKS if links is None else links)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "stand-in", "expires_in": 600})
        if request.headers.get("authorization") != "Bearer stand-in":
            return httpx.Response(401)
        link_id = request.url.path.rsplit("/", 1)[-1]
        if link_id not in known:
            return httpx.Response(410)
        return httpx.Response(200, json={"link_id": link_id, "url": known[link_id]})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://identity")


def retention_stand_in(links: dict[str, str] | None = None) -> httpx.AsyncClient:
    """Retention's certificate links route for notify-only tests (`certificate:<id>` references
    of `tests.unit.notify.events`); notify's token comes from identity's stand-in."""
    known = dict(LINKS if links is None else links)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != "Bearer stand-in":
            return httpx.Response(401)
        certificate_id = request.url.path.removesuffix("/link").rsplit("/", 1)[-1]
        url = known.get(f"certificate:{certificate_id}")
        if url is None:
            return httpx.Response(404)
        return httpx.Response(200, json={"certificate_id": certificate_id, "url": url})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://retention")


@asynccontextmanager
async def notify_running(
    settings: Settings,
    *,
    token_verifier: TokenVerifier | None = None,
    identity_http: httpx.AsyncClient | None = None,
    retention_http: httpx.AsyncClient | None = None,
) -> AsyncIterator[NotifyUnderTest]:
    app = create_app(
        settings,
        token_verifier=token_verifier,
        identity_http=identity_http or identity_stand_in(),
        retention_http=retention_http or retention_stand_in(),
    )
    async with running(app) as http:
        yield NotifyUnderTest(app, http)
