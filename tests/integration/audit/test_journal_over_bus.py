"""The audit app in-process on the real bus: checkpoints signed by its periodic job, a gap in a
producer's sequence declared once as `audit.gap-detected.v1` (which audit journals in turn),
duplicates dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from audit.checkpoint import open_checkpoint, verify_receipt
from audit.main import create_app
from audit.settings import Settings
from shared.clock import SystemClock
from shared.contracts.envelope import Envelope
from shared.crypto import VerifierKey
from shared.ids import new_id
from shared.runtime import ServiceRuntime
from tests.support.services import eventually, running, service_env


def marker(seq: int) -> Envelope:
    now = SystemClock().now()
    return Envelope(
        event_id=new_id(now),
        type="loadtest.marked.v1",
        schema_version=1,
        occurred_at=now,
        producer="loadtest",
        producer_seq=seq,
        subject=f"test:gap-{seq}",
        actor="service:loadtest",
        correlation_id=f"gap-{seq}",
        payload={"n": seq},
    )


async def test_gap_is_declared_once_and_checkpoints_cover_the_journal(
    tmp_path: Path, bus_prefix: str
) -> None:
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        gap_delay_seconds=0.5,
        checkpoint_interval_seconds=0.2,
    )
    app = create_app(settings)
    async with running(app) as audit:
        runtime: ServiceRuntime = app.state.runtime
        sent = [marker(seq) for seq in (1, 2, 5, 6)]
        for envelope in [*sent, sent[0]]:
            await runtime.publisher.publish(envelope)

        async def gap_journaled() -> bool:
            found = await audit.get("/v1/entries", params={"type": "audit.gap-detected.v1"})
            return len(found.json()["entries"]) >= 1

        await eventually(gap_journaled, within=30, every=0.2)
        await asyncio.sleep(1.5)  # several more periodic runs: the gap stays declared once
        gaps = (await audit.get("/v1/entries", params={"type": "audit.gap-detected.v1"})).json()
        assert len(gaps["entries"]) == 1
        assert gaps["entries"][0]["subject"] == "producer:loadtest"
        assert (await audit.get("/v1/stats")).json()["gaps_detected"] == 1
        markers = (await audit.get("/v1/entries", params={"type": "loadtest.marked.v1"})).json()
        assert sorted(e["producer_seq"] for e in markers["entries"]) == [1, 2, 5, 6]

        size = (await audit.get("/v1/head")).json()["size"]

        async def covered() -> bool:
            answer = await audit.get("/v1/checkpoint")
            return answer.status_code == 200 and int(answer.text.split("\n")[1]) >= size

        await eventually(covered, within=10, every=0.1)
        keys = [
            VerifierKey.from_string(k) for k in (await audit.get("/v1/verifier-keys")).text.split()
        ]
        note = (await audit.get("/v1/checkpoint")).text
        assert open_checkpoint(note, keys, origin=settings.checkpoint_origin).size >= size
        gap_index = gaps["entries"][0]["index"]
        receipt = await audit.get(f"/v1/receipts/{gap_index}")
        assert receipt.status_code == 200
        verified = verify_receipt(receipt.text, keys, origin=settings.checkpoint_origin)
        assert verified.entry is not None
        assert verified.entry["type"] == "audit.gap-detected.v1"


async def test_health_and_problem_shapes(tmp_path: Path, bus_prefix: str) -> None:
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
    )
    async with running(create_app(settings)) as audit:
        answer = await audit.get("/v1/entries/12345")
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert (await audit.get("/health/ready")).status_code == 200
        unauthenticated: httpx.Response = await audit.get(
            "/v1/entries/0", headers={"Authorization": "Bearer nope"}
        )
        assert unauthenticated.status_code == 401
