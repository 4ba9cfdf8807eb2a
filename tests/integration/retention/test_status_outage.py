"""Status on the real bus with a real audit: the probed service (audit, behind a proxy the test
cuts) stops answering longer than the threshold → an incident opens by itself; it answers again
→ the incident closes; the attestation carries audit's receipts of both events, verifies offline
with `securact-retention verify-attestation`, and names the right next jour ouvrable.

The retention clock is set to Friday 14 May 2027 at 18:00 in Paris (Whit Monday follows): a
deadline that fell in the outage runs until Tuesday 18 May in every territory."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from audit.checkpoint import verify_receipt
from retention.cli import main as retention_cli
from retention.main import create_app
from retention.settings import Settings
from retention.status.service import Status
from shared.clock import ManualClock
from shared.crypto import VerifierKey
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.support.proxy import CuttingProxy
from tests.support.services import eventually, running, serving
from tests.support.stack import audit_for
from tests.unit.consent.support import Tokens

FRIDAY_EVENING = datetime(2027, 5, 14, 16, 0, tzinfo=UTC)  # 18:00 in Paris
THRESHOLD_SECONDS = 60.0


@pytest.fixture
async def audit(tmp_path: Path, bus_prefix: str) -> AsyncIterator[tuple[FastAPI, int]]:
    app = audit_for(tmp_path, bus_prefix, checkpoint_every=3600)  # the test signs when needed
    async with serving(app) as port:
        yield app, port


async def test_an_outage_opens_and_closes_an_incident_by_itself_and_is_attested(
    tmp_path: Path, bus_prefix: str, audit: tuple[FastAPI, int]
) -> None:
    audit_app, audit_port = audit
    proxy = CuttingProxy(f"127.0.0.1:{audit_port}")
    await proxy.start()
    clock = ManualClock(FRIDAY_EVENING)
    settings = Settings(
        data_dir=tmp_path / "retention",
        bus_prefix=bus_prefix,
        log_json=False,
        outbox_poll_seconds=0.2,
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        audit_url=f"http://{proxy.endpoint}",
        status_probe_services=["audit"],
        status_probe_interval_seconds=0.2,
        status_probe_timeout_seconds=2,
        status_outage_threshold_seconds=THRESHOLD_SECONDS,
        receipt_attempts=3,
        receipt_retry_seconds=0.2,
    )
    app = create_app(settings, clock=clock, token_verifier=Tokens(clock).verifier())
    status: Status = app.state.status
    runtime: ServiceRuntime = app.state.runtime
    audit_http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{audit_port}")
    try:
        async with running(app) as client:

            async def audit_state(up: bool) -> bool:
                states = await status.probes.states()
                return bool(states) and states[0].up is up

            await eventually(lambda: audit_state(True), within=15)
            proxy.cut()
            await eventually(lambda: audit_state(False), within=15)
            await eventually(lambda: audit_state(False), within=2)
            assert await status.incidents.current() == []  # not longer than the threshold yet
            clock.advance(timedelta(seconds=THRESHOLD_SECONDS + 1))

            async def opened() -> bool:
                return bool(await status.incidents.current())

            await eventually(opened, within=15)
            [incident] = await status.incidents.current()
            assert incident.services == ["audit"]
            assert incident.started_at == FRIDAY_EVENING
            feed = (await client.get("/v1/status")).json()
            assert feed["operational"] is False
            assert [i["id"] for i in feed["current_incidents"]] == [incident.id]
            page = await client.get("/statut")
            assert "Journal de preuve" in page.text
            assert "Incidents en cours" in page.text

            await proxy.resume()
            clock.advance(timedelta(minutes=4))

            async def closed() -> bool:
                return not await status.incidents.current()

            await eventually(closed, within=15)
            [done] = await status.incidents.past()
            assert done.id == incident.id
            assert done.ended_at is not None
            assert done.ended_at - FRIDAY_EVENING >= timedelta(minutes=5)

            # Both events reach audit over the bus (the probes' HTTP path is not the bus).
            async def journaled(event_id: str | None) -> bool:
                answer = await audit_http.get("/v1/entries", params={"event_id": event_id})
                return bool(answer.json()["entries"])

            for event_id in (done.opened_event_id, done.closed_event_id):
                await eventually(lambda e=event_id: journaled(e), within=20)
            await audit_app.state.checkpoints.sign_if_grown()

            signed = await client.get(f"/v1/incidents/{incident.id}/attestation")
            assert signed.status_code == 200, signed.text
            pdf = await client.get(f"/v1/incidents/{incident.id}/attestation.pdf")
            assert pdf.headers["content-type"] == "application/pdf"
            keys = (await client.get("/v1/certificates/keys")).json()["keys"]
            audit_keys = (await audit_http.get("/v1/verifier-keys")).text.split()

            rows = await runtime.store.find(OUTBOX)
            attested = [
                r["envelope"]["event_id"]
                for r in rows
                if r["envelope"]["type"] == "retention.outage-attested.v1"
            ]
            assert len(attested) == 1
            await eventually(lambda: journaled(attested[0]), within=20)
    finally:
        await audit_http.aclose()
        await proxy.close()

    document = signed.json()["attestation"]
    assert (document["started_at"], document["ended_at"]) == (
        FRIDAY_EVENING.isoformat(),
        done.ended_at.isoformat(),
    )
    moved = {entry["territory"]: entry["moved_to"] for entry in document["territories"]}
    assert moved["metropole"] == "2027-05-18"
    assert set(moved.values()) == {"2027-05-18"}
    assert document["missing_receipts"] == []
    receipts = document["audit_receipts"]
    assert sorted(r["event_id"] for r in receipts) == sorted(document["journal_events"])
    trusted = [VerifierKey.from_string(k) for k in audit_keys]
    assert all(verify_receipt(r["proof"], trusted) is not None for r in receipts)

    json_file, pdf_file = tmp_path / "attestation.json", tmp_path / "attestation.pdf"
    json_file.write_bytes(signed.content)
    pdf_file.write_bytes(pdf.content)
    out = io.StringIO()
    arguments = ["verify-attestation", "--attestation", str(json_file), "--pdf", str(pdf_file)]
    for key in keys:
        arguments += ["--public-key", key]
    assert retention_cli(arguments, out=out) == 0, out.getvalue()
    assert "metropole: deadlines move to 2027-05-18" in out.getvalue()
    pdf_file.write_bytes(pdf.content.replace(b"2027", b"2028", 1))
    assert retention_cli(arguments, out=io.StringIO()) == 1
