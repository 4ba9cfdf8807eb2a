"""The kernel's receipt client, as retention's certificates use it, against a real audit app
(in process, over ASGI): an event's journal index by event id, then its receipt — retried while
audit has not checkpointed, then listed as missing with the reason, never silently dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from audit.checkpoint import verify_receipt
from retention.receipts import receipt_set
from shared.clock import SystemClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.retention import HoldLiftedV1
from shared.crypto import VerifierKey
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from shared.receipts import AuditReceipts, ReceiptReason, RetryPolicy
from tests.fixtures.rabbit import AMQP_URL
from tests.support.services import eventually, running, service_env

FAST = RetryPolicy(attempts=3, delay_seconds=0.05, deadline_seconds=5)
NOT_CHECKPOINTED = ReceiptReason.NOT_CHECKPOINTED
NOT_JOURNALED = ReceiptReason.NOT_JOURNALED


@pytest.fixture
async def audit(tmp_path: Path, bus_prefix: str) -> AsyncIterator[FastAPI]:
    from audit.main import create_app
    from audit.settings import Settings

    app = create_app(
        Settings(
            **service_env(tmp_path / "audit", bus_prefix),
            kek_file=tmp_path / "audit-kek.json",
            signing_key_file=tmp_path / "audit-signing.json",
            checkpoint_interval_seconds=3600,  # the test signs when it wants one
        )
    )
    async with running(app):
        yield app


async def journaled(audit: FastAPI, bus_prefix: str) -> Envelope:
    clock = SystemClock()
    envelope = new_envelope(
        HoldLiftedV1(hold_subject="account:acc-1", lifted_by="op-1", lifted_at=clock.now()),
        subject="hold:account:acc-1",
        actor="test",
        clock=clock,
    )
    broker = create_broker(AMQP_URL)
    await broker.connect()
    try:
        await EventPublisher(broker, Topology(bus_prefix)).publish(envelope)
    finally:
        await broker.stop()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=audit), base_url="http://audit")

    async def found() -> bool:
        response = await http.get("/v1/entries", params={"event_id": envelope.event_id})
        return bool(response.json()["entries"])

    await eventually(found, within=15)
    await http.aclose()
    return envelope


async def test_receipts_are_fetched_by_event_id_and_verify_offline(
    audit: FastAPI, bus_prefix: str
) -> None:
    envelope = await journaled(audit, bus_prefix)
    await audit.state.checkpoints.sign_if_grown()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=audit), base_url="http://audit"
    ) as http:
        keys = (await http.get("/v1/verifier-keys")).text.split()
        result = await receipt_set(AuditReceipts(http, FAST), [envelope.event_id, "no-such-event"])
    [receipt] = result.found
    assert receipt["event_id"] == envelope.event_id
    verified = verify_receipt(str(receipt["proof"]), [VerifierKey.from_string(k) for k in keys])
    assert verified is not None
    assert result.missing == [{"event_id": "no-such-event", "reason": NOT_JOURNALED}]


async def test_an_entry_not_yet_checkpointed_is_retried_then_listed_as_missing(
    audit: FastAPI, bus_prefix: str
) -> None:
    envelope = await journaled(audit, bus_prefix)
    calls: list[str] = []

    async def count(request: httpx.Request) -> None:
        calls.append(request.url.path)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=audit),
        base_url="http://audit",
        event_hooks={"request": [count]},
    ) as http:
        result = await receipt_set(AuditReceipts(http, FAST), [envelope.event_id])
    assert result.found == []
    assert result.missing == [{"event_id": envelope.event_id, "reason": NOT_CHECKPOINTED}]
    assert sum(path.startswith("/v1/receipts/") for path in calls) == FAST.attempts


async def test_an_unreachable_audit_is_reported_not_raised() -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as http:
        result = await receipt_set(AuditReceipts(http, FAST), ["event-1"])
    assert result.missing == [{"event_id": "event-1", "reason": "audit-unreachable"}]
