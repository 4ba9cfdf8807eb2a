"""The bus: outbox → RabbitMQ → audit, exactly once, nothing lost."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from audit.main import create_app as create_audit
from audit.settings import Settings as AuditSettings
from notify.main import create_app as create_notify
from notify.settings import Settings as NotifySettings
from shared.contracts.platform import NotifyStartedV1
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.support.services import eventually, running, service_env


async def _entries(audit: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await audit.get("/v1/entries", params={"limit": 1000, **params})
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def _marker(runtime: ServiceRuntime, n: int) -> Any:
    payload = NotifyStartedV1(service="notify", instance_id=f"marker-{n}", release="test")
    return runtime.envelope(payload, subject=f"test:marker-{n}")


async def test_event_reaches_audit_once_even_when_relayed_twice(
    tmp_path: Path, bus_prefix: str
) -> None:
    audit_app = create_audit(AuditSettings(**service_env(tmp_path / "audit", bus_prefix)))
    notify_app = create_notify(NotifySettings(**service_env(tmp_path / "notify", bus_prefix)))
    async with running(audit_app) as audit, running(notify_app):
        producer: ServiceRuntime = notify_app.state.runtime
        envelope = _marker(producer, 1)
        await producer.outbox.publish_alone(envelope)

        async def journaled() -> bool:
            return len(await _entries(audit, subject="test:marker-1")) == 1

        await eventually(journaled)
        # A relay that crashed between the broker's confirm and marking the row sent
        # publishes the same row again.
        assert await producer.store.update(OUTBOX, {"_id": envelope.event_id}, {"sent": False})
        producer.outbox.pending.set()

        async def republished() -> bool:
            row = await producer.store.get(OUTBOX, envelope.event_id)
            return row is not None and row["sent"] is True

        await eventually(republished)
        # Let the duplicate reach audit before looking.
        await _journal_settles(audit)
        entries = await _entries(audit, subject="test:marker-1")
        assert [e["event_id"] for e in entries] == [envelope.event_id]
        assert entries[0]["producer_seq"] is not None


async def _journal_settles(audit: httpx.AsyncClient) -> None:
    """Wait until audit's journal stops growing for a moment."""
    previous = -1
    for _ in range(50):
        size = (await audit.get("/v1/head")).json()["size"]
        if size == previous:
            return
        previous = size
        await asyncio.sleep(0.5)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.slow
async def test_writes_during_broker_outage_all_reach_audit_after_it_returns(
    tmp_path: Path, bus_prefix: str
) -> None:
    audit_app = create_audit(AuditSettings(**service_env(tmp_path / "audit", bus_prefix)))
    notify_app = create_notify(NotifySettings(**service_env(tmp_path / "notify", bus_prefix)))
    async with running(audit_app) as audit, running(notify_app) as notify:
        producer: ServiceRuntime = notify_app.state.runtime
        markers = [_marker(producer, n) for n in range(25)]
        _rabbitmqctl("stop_app")
        try:
            for envelope in markers:
                await producer.outbox.publish_alone(envelope)  # the service still writes
            pending = await producer.store.count(OUTBOX, {"sent": False})
            assert pending >= len(markers)
            assert (await notify.get("/health/live")).status_code == 200
            assert (await notify.get("/health/ready")).status_code == 503
        finally:
            _rabbitmqctl("start_app")

        expected = {e.event_id for e in markers}

        async def all_journaled() -> bool:
            seen = [e["event_id"] for e in await _entries(audit, type="notify.started.v1")]
            return expected <= set(seen)

        await eventually(all_journaled, within=90, every=0.5)
        await _journal_settles(audit)
        seen = [e["event_id"] for e in await _entries(audit, type="notify.started.v1")]
        assert len(seen) == len(set(seen)), "an event was journaled twice"
        seqs = sorted(e["producer_seq"] for e in await _entries(audit, type="notify.started.v1"))
        assert seqs == list(range(1, len(seqs) + 1)), "producer_seq has a gap"
        assert await producer.store.count(OUTBOX, {"sent": False}) == 0
