"""The delivery service stops, really: its HTTP server and its lifespan (bus consumers, store)
end, as when its process goes away. Retention, probing delivery's readiness on its schedule,
opens an incident by itself once delivery has been gone longer than the threshold, naming
delivery; a new delivery on the same data, bucket and port comes back and the incident closes
by itself. Its attestation carries audit's receipts, verifies offline with
`securact-retention verify-attestation`, and names the next jour ouvrable.

Retention runs on the dev clock offset (`clock_offset_seconds`, as a demo would set it) that
puts it on Friday 14 May 2027 at 18:00 in Paris: Saturday, Sunday and Whit Monday follow, so a
deadline that fell in the outage runs until Tuesday 18 May, in every territory.

Real RabbitMQ and SeaweedFS; delivery and audit served over HTTP (retention reaches them as in
production), identity in this process. Delivery is an app of this process, not a process of
its own: stopping it closes its port and ends its lifespan, which is what the probe can see."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from audit.checkpoint import verify_receipt
from delivery.main import create_app as create_delivery
from delivery.settings import Settings as DeliverySettings
from retention.cli import main as retention_cli
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from retention.status.service import Status
from shared.crypto import VerifierKey
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from shared.telemetry import instrument_client
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import ready_bucket
from tests.integration.delivery.test_delivery_service import offset_to
from tests.support.services import eventually, running, serving
from tests.support.stack import (
    Mailbox,
    free_port,
    identity_http_for,
    serving_stack,
    verifier_for,
)

FRIDAY_EVENING = datetime(2027, 5, 14, 16, 0, tzinfo=UTC)  # 18:00 in Paris, Whit Monday next
PARIS = ZoneInfo("Europe/Paris")
THRESHOLD_SECONDS = 3.0


def restarted_delivery(stack_delivery: FastAPI, identity: FastAPI, audit: FastAPI) -> FastAPI:
    """Delivery as it starts again after a stop: the same settings (data directory, keys,
    bucket), fresh connections (the stopped one closed its own)."""
    runtime: ServiceRuntime = stack_delivery.state.runtime
    assert isinstance(runtime.settings, DeliverySettings)
    audit_http = instrument_client(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=audit), base_url="http://audit")
    )
    return create_delivery(
        runtime.settings,
        clock=runtime.clock,
        token_verifier=verifier_for(identity, "delivery"),
        audit_http=audit_http,
        identity_http=identity_http_for(identity),
    )


@pytest.mark.slow
async def test_delivery_stopped_longer_than_the_threshold_is_an_attested_incident(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")  # notify is not run: no mail in this flow
    stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
    delivery_port = free_port()
    delivery_url = f"http://127.0.0.1:{delivery_port}"
    try:
        async with running(stack.identity), serving(stack.audit) as audit_port:
            audit_url = f"http://127.0.0.1:{audit_port}"
            retention = create_retention(
                RetentionSettings(
                    data_dir=tmp_path / "retention",
                    bus_prefix=bus_prefix,
                    log_json=False,
                    outbox_poll_seconds=0.2,
                    kek_file=tmp_path / "retention-kek.json",
                    signing_key_file=tmp_path / "retention-signing.json",
                    audit_url=audit_url,
                    delivery_url=delivery_url,
                    status_probe_services=["delivery"],
                    status_probe_interval_seconds=0.2,
                    status_probe_timeout_seconds=2,
                    status_outage_threshold_seconds=THRESHOLD_SECONDS,
                    receipt_attempts=3,
                    receipt_retry_seconds=0.2,
                    clock_offset_seconds=offset_to(FRIDAY_EVENING),
                ),
                token_verifier=verifier_for(stack.identity, "retention"),
            )
            status: Status = retention.state.status
            async with (
                running(retention) as client,
                httpx.AsyncClient(base_url=audit_url) as audit_http,
            ):

                async def delivery_is(up: bool) -> bool:
                    states = await status.probes.states()
                    return bool(states) and states[0].up is up

                async with serving(stack.delivery, delivery_port):
                    await ready_bucket(stack.delivery)
                    await eventually(lambda: delivery_is(True), within=30)
                    assert await status.incidents.current() == []
                # Delivery is stopped: its port closed, its lifespan over.
                await eventually(lambda: delivery_is(False), within=15)
                assert await status.incidents.current() == []  # not for longer than 3 s yet

                async def opened() -> bool:
                    return bool(await status.incidents.current())

                await eventually(opened, within=15)
                [incident] = await status.incidents.current()
                assert (incident.probe_service, incident.services) == ("delivery", ["delivery"])
                started = incident.started_at.astimezone(PARIS)
                assert (started.date().isoformat(), started.hour) == ("2027-05-14", 18)
                feed = (await client.get("/v1/status")).json()
                assert feed["operational"] is False
                assert [i["id"] for i in feed["current_incidents"]] == [incident.id]

                again = restarted_delivery(stack.delivery, stack.identity, stack.audit)
                async with serving(again, delivery_port):

                    async def closed() -> bool:
                        return not await status.incidents.current()

                    await eventually(closed, within=30)
                    [done] = await status.incidents.past()
                    assert done.id == incident.id
                    assert done.ended_at is not None
                    assert done.ended_at - done.started_at >= timedelta(seconds=THRESHOLD_SECONDS)

                # Both events reach audit over the bus; a checkpoint makes their receipts.
                async def journaled(event_id: str | None) -> bool:
                    answer = await audit_http.get("/v1/entries", params={"event_id": event_id})
                    return bool(answer.json()["entries"])

                for event_id in (done.opened_event_id, done.closed_event_id):
                    await eventually(lambda e=event_id: journaled(e), within=20)
                await stack.audit.state.checkpoints.sign_if_grown()

                signed = await client.get(f"/v1/incidents/{incident.id}/attestation")
                assert signed.status_code == 200, signed.text
                pdf = await client.get(f"/v1/incidents/{incident.id}/attestation.pdf")
                assert pdf.headers["content-type"] == "application/pdf"
                keys = (await client.get("/v1/certificates/keys")).json()["keys"]
                audit_keys = (await audit_http.get("/v1/verifier-keys")).text.split()

                # The attestation itself is journaled, once.
                runtime: ServiceRuntime = retention.state.runtime
                attested = [
                    r["envelope"]["event_id"]
                    for r in await runtime.store.find(OUTBOX)
                    if r["envelope"]["type"] == "retention.outage-attested.v1"
                ]
                assert len(attested) == 1
                await eventually(lambda: journaled(attested[0]), within=20)
    finally:
        await stack.audit_http.aclose()

    document = signed.json()["attestation"]
    assert document["services"] == ["delivery"]
    assert (document["started_at"], document["ended_at"]) == (
        done.started_at.isoformat(),
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
    json_file.write_bytes(signed.content.replace(b"2027-05-18", b"2027-05-17", 1))
    assert retention_cli(arguments, out=io.StringIO()) == 1
