"""Notify's use cases on a real SQLite store with a manual clock and recording fakes for the
mail transport and the SMS gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from notify.context import Config, Originator, SendingPolicy
from notify.ports import (
    BeforeData,
    DeliveryError,
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
)
from notify.repository import INDEXES, NOTIFICATIONS
from notify.service import Notify, wire
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import RetryPolicy
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, Outbox
from shared.store.port import Document, DocumentStore
from shared.telemetry import inject_traceparent
from tests.unit.notify.events import LINKS, instant

START = instant(2031, 3, 3, 10)  # a Monday


@dataclass
class RecordingMail:
    """Records every message handed over; fails with the scripted errors first (refusals of
    the envelope, before DATA). With `hold`, each message waits in DATA until it is set (a slow
    relay); `in_data` tells that one got there. `interlude` runs before DATA starts."""

    sent: list[EmailMessage] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)
    attempts: int = 0
    hold: asyncio.Event | None = None
    in_data: asyncio.Event = field(default_factory=asyncio.Event)
    interlude: Callable[[], Awaitable[None]] | None = None

    async def send(self, message: EmailMessage, *, before_data: BeforeData | None = None) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        if self.interlude is not None:
            await self.interlude()
        if before_data is not None:
            await before_data()
        self.in_data.set()
        if self.hold is not None:
            await self.hold.wait()
        self.sent.append(message)

    async def close(self) -> None:
        return None


@dataclass
class RecordingSms:
    sent: list[SmsMessage] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def send(self, message: SmsMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)

    async def close(self) -> None:
        return None


@dataclass
class RecordingLinks:
    """Identity's links as notify's `LinkSource` sees them: the URL of a known, usable link;
    a permanent failure once `gone`; the scripted failures first (identity down)."""

    urls: dict[str, str] = field(default_factory=lambda: dict(LINKS))
    gone: set[str] = field(default_factory=set)
    failures: list[DeliveryError] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    async def link_url(self, link_id: str) -> str:
        self.asked.append(link_id)
        if self.failures:
            raise self.failures.pop(0)
        if link_id in self.gone or link_id not in self.urls:
            raise PermanentDeliveryError("the link is no longer valid")
        return self.urls[link_id]

    def identity_down(self, times: int) -> None:
        self.failures.extend(
            TransientDeliveryError("identity unreachable for the link (ConnectError)")
            for _ in range(times)
        )


@dataclass
class Env:
    store: DocumentStore
    clock: ManualClock
    mail: RecordingMail
    sms: RecordingSms
    notify: Notify
    links: RecordingLinks

    async def take(self, envelope: Envelope, queue: str = "notify.urgent") -> bool:
        return await self.notify.intake.take(envelope, consumer=queue)

    async def drain(self, limit: int = 10_000) -> int:
        """Send every due notification; returns how many attempts were made."""
        count = 0
        while count < limit and await self.notify.sending.send_next():
            count += 1
        return count

    async def rows(self, **where: Any) -> list[Document]:
        return await self.store.find(NOTIFICATIONS, where, sort=[("created_at", 1)])

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.store.find(OUTBOX, {"envelope.type": event_type})
        return [row["envelope"] for row in rows]


def policy(**overrides: Any) -> SendingPolicy:
    values: dict[str, Any] = {
        "retry": RetryPolicy(
            max_attempts=3, first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=60)
        ),
        "claim_timeout": timedelta(minutes=5),
        "domain_rate_per_second": 1000.0,
        "domain_burst": 1000,
        "workers": 1,
    }
    values.update(overrides)
    return SendingPolicy(**values)


EnvFactory = Callable[..., Env]


@pytest.fixture
async def make_env(sqlite_store: DocumentStore) -> EnvFactory:
    await sqlite_store.ensure_indexes((*INDEXES, *INBOX_INDEXES))
    clock = ManualClock(START)

    def build(**overrides: Any) -> Env:
        # As the runtime wires it: each row keeps the trace context current at its write.
        outbox = Outbox(sqlite_store, clock, trace_carrier=inject_traceparent)
        mail = RecordingMail()
        sms = RecordingSms()
        links = RecordingLinks()

        notify = wire(
            Config(
                Originator(
                    "SECURACT <ne-pas-repondre@securact.test>", "notify.securact.test", "SECURACT"
                ),
                policy(**overrides),
            ),
            store=sqlite_store,
            outbox=outbox,
            inbox=lambda consumer: Inbox(
                sqlite_store, consumer, clock, transaction=outbox.transaction
            ),
            clock=clock,
            mail=mail,
            sms=sms,
            links=links,
        )
        return Env(sqlite_store, clock, mail, sms, notify, links)

    return build


@pytest.fixture
def env(make_env: EnvFactory) -> Env:
    return make_env()
