"""Audit's erasure step on the real bus: retention's shred request, published to a prefixed
topology, makes the subject's payloads unreadable; the confirmation leaves through audit's
outbox and is journaled in turn, findable by its event id; a redelivered request is not
confirmed twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from audit.main import create_app
from audit.settings import Settings
from shared.clock import SystemClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.retention import (
    ErasurePurpose,
    SubjectKeysShreddedV1,
    SubjectKeysShredRequestedV1,
)
from shared.ids import new_id
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import Topology
from shared.runtime import ServiceRuntime
from tests.support.services import eventually, running, service_env

CONFIRMED = SubjectKeysShreddedV1.routing_key()


@pytest.fixture
async def retention_bus(amqp_url: str, bus_prefix: str) -> AsyncIterator[EventPublisher]:
    """What retention publishes with: its own connection to the test's topology."""
    broker = create_broker(amqp_url, app_id="securact-retention")
    await broker.connect()
    try:
        yield EventPublisher(broker, Topology(bus_prefix))
    finally:
        await broker.stop()


def served(subject: str) -> Envelope:
    now = SystemClock().now()
    return Envelope(
        event_id=new_id(now),
        type="loadtest.marked.v1",
        schema_version=1,
        occurred_at=now,
        producer="loadtest",
        subject=subject,
        actor="office:7",
        correlation_id=new_id(now),
        payload={"recipient": "Jean Dupont"},
    )


def shred_request(erasure_id: str, subjects: list[str]) -> Envelope:
    clock = SystemClock()
    payload = SubjectKeysShredRequestedV1(
        erasure_id=erasure_id,
        purpose=ErasurePurpose.ACCOUNT_ERASURE,
        subjects=subjects,
        requested_at=clock.now(),
    )
    return new_envelope(payload, subject="account:a1", actor="service:retention", clock=clock)


async def _entries(audit: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    answer = await audit.get("/v1/entries", params={"limit": 1000, **params})
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()["entries"]
    return found


async def test_shred_request_over_the_bus_is_shredded_confirmed_and_journaled(
    tmp_path: Path, bus_prefix: str, retention_bus: EventPublisher
) -> None:
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
    )
    app = create_app(settings)
    async with running(app) as audit:
        runtime: ServiceRuntime = app.state.runtime
        erased, kept = served("act:e1"), served("act:e2")
        for envelope in (erased, kept):
            await retention_bus.publish(envelope)

        async def both_journaled() -> bool:
            return len(await _entries(audit, type="loadtest.marked.v1")) == 2

        await eventually(both_journaled, within=15)
        request = shred_request("er-bus-1", ["act:e1", "account:a1"])
        # The second publication is a redelivery (same event id): no second confirmation.
        await retention_bus.publish(request)
        await retention_bus.publish(request)
        again = shred_request("er-bus-1", ["act:e1", "account:a1"])
        await retention_bus.publish(again)

        async def confirmations_journaled() -> list[dict[str, Any]]:
            return await _entries(audit, type=CONFIRMED)

        async def two_confirmations() -> bool:
            return len(await confirmations_journaled()) >= 2

        # The queue is FIFO and consumed one at a time: once the later request is confirmed,
        # the redelivery was handled before it.
        await eventually(two_confirmations, within=15)
        rows = await runtime.store.find(OUTBOX, {})
        outgoing = [Envelope.model_validate(row["envelope"]) for row in rows]
        confirmations = [e for e in outgoing if e.type == CONFIRMED]
        assert sorted(c.causation_id or "" for c in confirmations) == sorted(
            [request.event_id, again.event_id]
        )
        for confirmation in confirmations:
            confirmed = SubjectKeysShreddedV1.model_validate(confirmation.payload)
            assert confirmed.erasure_id == "er-bus-1"
            assert confirmed.subjects == ["act:e1", "account:a1"]
        assert len(await confirmations_journaled()) == 2

        # Found by its event id (what retention's receipts need), with its index.
        first = confirmations[0]
        (entry,) = await _entries(audit, event_id=first.event_id)
        assert entry["subject"] == "erasure:er-bus-1"
        assert (await audit.get(f"/v1/entries/{entry['index']}")).status_code == 200

        (shredded,) = await _entries(audit, event_id=erased.event_id)
        (unaffected,) = await _entries(audit, event_id=kept.event_id)
        shown = (await audit.get(f"/v1/entries/{shredded['index']}")).json()
        assert shown["payload_state"] == "shredded"
        journal = app.state.journal
        assert (await journal.payload(shredded)).state.value == "shredded"
        assert (await journal.payload(unaffected)).state.value == "available"
