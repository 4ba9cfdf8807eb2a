"""Retention wired by its composition root on a real SQLite store, a manual clock, a KEK and a
signing key in the test's directory, and an in-memory recording object store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from retention.consumers import (
    CONFIRMATIONS_QUEUE,
    LIFECYCLE_QUEUE,
    confirmations_handler,
    lifecycle_handler,
)
from retention.repository import INDEXES
from retention.service import Retention, wire
from retention.settings import Settings
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.crypto import KeyRing, LocalKeyFile, SigningKeyRing, load_or_create_signing_ring
from shared.messaging.consumer import Subscription
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, Outbox
from shared.receipts import ReceiptSource
from shared.store.port import DocumentStore
from shared.store.sqlite import SqliteStore
from tests.unit.consent.support import MemoryObjects

# 10:00 in Paris on Tuesday 31 December 2030.
START = datetime(2030, 12, 31, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(hours=72)


@dataclass
class Node:
    """One retention replica: its own Retention and subscriptions on the shared store."""

    retention: Retention
    lifecycle: Subscription
    confirmations: Subscription


@dataclass
class Harness:
    store: DocumentStore
    clock: ManualClock
    objects: MemoryObjects
    outbox: Outbox
    signer: SigningKeyRing
    node: Node
    make_node: Callable[..., Node]

    @property
    def retention(self) -> Retention:
        return self.node.retention

    def envelope(self, payload: EventPayload, subject: str = "test:1") -> Envelope:
        return new_envelope(payload, subject=subject, actor="test", clock=self.clock)

    async def deliver(self, payload: EventPayload, *, node: Node | None = None) -> Envelope:
        envelope = self.envelope(payload)
        await self.redeliver(envelope, node=node)
        return envelope

    async def redeliver(self, envelope: Envelope, *, node: Node | None = None) -> None:
        target = node or self.node
        if envelope.type in target.lifecycle.bindings:
            await target.lifecycle.handler(envelope)
        else:
            await target.confirmations.handler(envelope)
            # What the service's background job does when the consumer asks for it.
            if target.retention.certificates.wanted.is_set():
                target.retention.certificates.wanted.clear()
                await target.retention.certificates.issue_pending()

    async def published(self, event_type: str | None = None) -> list[Envelope]:
        rows = await self.store.find(OUTBOX, sort=[("_id", 1)])
        envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
        return [e for e in envelopes if event_type is None or e.type == event_type]

    async def payloads(self, event_type: str) -> list[dict[str, Any]]:
        return [dict(e.payload) for e in await self.published(event_type)]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    store = SqliteStore(tmp_path / "retention.sqlite3")
    await store.connect()
    await store.ensure_indexes((*INDEXES, *INBOX_INDEXES))
    clock = ManualClock(START)
    objects = MemoryObjects()
    outbox = Outbox(store, clock)
    signer = load_or_create_signing_ring(tmp_path / "signing.json", "test/platform", clock)
    keys = KeyRing(LocalKeyFile(tmp_path / "kek.json", clock))
    settings = Settings(
        data_dir=tmp_path,
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        confirmation_timeout_hours=TIMEOUT.total_seconds() / 3600,
        scheduler_batch_size=3,
        log_json=False,
    )

    def make_node(receipts: ReceiptSource | None = None) -> Node:
        retention = wire(
            settings,
            store=store,
            outbox=outbox,
            clock=clock,
            signer=signer,
            keys=keys,
            objects=objects,
            receipts=receipts,
        )
        return Node(
            retention,
            lifecycle_handler(
                retention,
                Inbox(store, LIFECYCLE_QUEUE, clock, transaction=outbox.transaction),
            ),
            confirmations_handler(
                retention,
                Inbox(store, CONFIRMATIONS_QUEUE, clock, transaction=outbox.transaction),
            ),
        )

    try:
        yield Harness(store, clock, objects, outbox, signer, make_node(), make_node)
    finally:
        await store.close()
