"""Status on retention's composition root (SQLite, manual clock, fake services over a mock
transport): probes open and close incidents at the threshold, operators open and close them,
attestations are signed once and verify offline, and the page and feeds show them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from fastapi import FastAPI

from retention.cli import main as cli_main
from retention.settings import Settings
from retention.status.api import SignedAttestation, status_router
from retention.status.attestation import verify_attestation
from retention.status.page import status_page_router
from retention.status.records import STATUS_INDEXES
from retention.status.service import Status, wire_status
from shared.crypto import IntegrityError, VerifierKey
from shared.problems import install_problem_handlers
from shared.refusals import Refusal, install_refusal_handlers
from tests.unit.consent.support import Tokens
from tests.unit.retention.conftest import Harness

# Friday 14 May 2027, 18:00 in Paris; Monday 17 May is Whit Monday.
FRIDAY_EVENING = datetime(2027, 5, 14, 16, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=5)


class Services:
    """Fake readiness endpoints: a service named in `down` answers 503."""

    def __init__(self) -> None:
        self.down: set[str] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        service = request.url.host.split(".")[0]
        return httpx.Response(503 if service in self.down else 200, json={})


@pytest.fixture
async def status(harness: Harness, tmp_path: Path) -> AsyncIterator[tuple[Status, Services]]:
    await harness.store.ensure_indexes(STATUS_INDEXES)
    harness.clock.set(FRIDAY_EVENING)
    services = Services()
    settings = Settings(
        data_dir=tmp_path,
        log_json=False,
        identity_url="http://identity.test",
        delivery_url="http://delivery.test",
        notify_url="http://notify.test",
        audit_url="http://audit.test",
        status_probe_services=["identity", "delivery", "notify", "audit"],
        status_outage_threshold_seconds=THRESHOLD.total_seconds(),
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(services.handle)) as http:
        yield wire_status(harness.retention.ctx, settings, http), services


async def test_a_failing_service_gets_an_incident_after_the_threshold_and_it_closes_on_recovery(
    status: tuple[Status, Services], harness: Harness
) -> None:
    state, services = status
    await state.probes.run_once()
    assert (await state.feed()).operational
    services.down.add("delivery")
    await state.probes.run_once()
    failed_at = harness.clock.now()
    harness.clock.advance(THRESHOLD - timedelta(seconds=1))
    await state.probes.run_once()
    assert await state.incidents.current() == []
    feed = await state.feed()
    assert not feed.operational
    assert feed.path.up is False
    harness.clock.advance(timedelta(seconds=1))
    await state.probes.run_once()
    await state.probes.run_once()  # no second incident for the same outage
    [incident] = await state.incidents.current()
    assert incident.services == ["delivery"]
    assert incident.started_at == failed_at
    services.down.clear()
    harness.clock.advance(timedelta(minutes=3))
    await state.probes.run_once()
    recovered_at = harness.clock.now()
    assert await state.incidents.current() == []
    [closed] = await state.incidents.past()
    assert (closed.started_at, closed.ended_at) == (failed_at, recovered_at)
    opened = await harness.payloads("retention.incident-opened.v1")
    ended = await harness.payloads("retention.incident-closed.v1")
    assert [p["incident_id"] for p in opened] == [closed.id]
    assert [p["incident_id"] for p in ended] == [closed.id]
    assert (await state.feed()).operational


async def test_operators_open_and_close_incidents_and_announce_maintenance(
    status: tuple[Status, Services], harness: Harness
) -> None:
    state, _ = status
    app = FastAPI()
    app.include_router(status_router(state))
    install_problem_handlers(app)
    install_refusal_handlers(app)
    tokens = Tokens(harness.clock)
    from shared.auth import install_token_verifier

    install_token_verifier(app, tokens.verifier())
    operator = tokens.bearer(sub="op-1", role="operator")
    recipient = tokens.bearer(sub="acc-1", role="recipient")
    body = {
        "cause": "panne du fournisseur d'hébergement",
        "services": ["delivery", "notify"],
        "territories": ["guadeloupe"],
        "offices": ["etude-1"],
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/v1/incidents", json=body, headers=recipient)).status_code == 403
        assert (await c.post("/v1/incidents", json=body)).status_code == 401
        bad = await c.post("/v1/incidents", json={**body, "services": ["nope"]}, headers=operator)
        assert bad.status_code == 422
        opened = await c.post("/v1/incidents", json=body, headers=operator)
        assert opened.status_code == 201, opened.text
        incident_id = opened.json()["id"]
        [local] = opened.json()["legal_times"]
        assert local["legal_time"] == "heure légale de la Guadeloupe"
        assert local["start"] == "vendredi 14 mai 2027 à 12 h 00 (heure légale de la Guadeloupe)"
        early = await c.get(f"/v1/incidents/{incident_id}/attestation")
        assert (early.status_code, early.json()["type"]) == (
            409,
            "urn:securact:problem:incident-open",
        )
        harness.clock.advance(timedelta(hours=2))
        operator = tokens.bearer(sub="op-1", role="operator")  # fresh after the jump
        closed = await c.post(f"/v1/incidents/{incident_id}/close", json={}, headers=operator)
        assert closed.status_code == 200
        assert closed.json()["open"] is False
        again = await c.post(f"/v1/incidents/{incident_id}/close", json={}, headers=operator)
        assert again.status_code == 409
        unknown = await c.get("/v1/incidents/nope/attestation")
        assert unknown.status_code == 404
        future = (harness.clock.now() + timedelta(days=3)).isoformat()
        later = (harness.clock.now() + timedelta(days=3, hours=2)).isoformat()
        announced = await c.post(
            "/v1/maintenances",
            json={
                "services": ["delivery"],
                "starts_at": future,
                "ends_at": later,
                "description": "mise à jour du stockage",
            },
            headers=operator,
        )
        assert announced.status_code == 201, announced.text
        backwards = await c.post(
            "/v1/maintenances",
            json={
                "services": ["delivery"],
                "starts_at": later,
                "ends_at": future,
                "description": "x",
            },
            headers=operator,
        )
        assert backwards.status_code == 422
        feed = (await c.get("/v1/status")).json()
    assert [m["description"] for m in feed["upcoming_maintenance"]] == ["mise à jour du stockage"]
    assert [i["id"] for i in feed["past_incidents"]] == [incident_id]
    [event] = await harness.payloads("retention.incident-opened.v1")
    assert event["opened_by"] == "op-1"
    assert event["offices"] == ["etude-1"]
    assert await harness.payloads("retention.maintenance-announced.v1")


async def test_the_attestation_is_signed_once_verifies_offline_and_names_the_next_jour_ouvrable(
    status: tuple[Status, Services], harness: Harness, tmp_path: Path
) -> None:
    state, _ = status
    from retention.status.incidents import Scope

    incident = await state.incidents.open("coupure réseau", Scope(["delivery"]), "op-1")
    harness.clock.advance(timedelta(hours=1))
    await state.incidents.close(incident.id, "op-1")
    first = await state.attestations.of_incident(incident.id)
    second = await state.attestations.of_incident(incident.id)
    assert second.signed_json == first.signed_json
    [attested] = await harness.payloads("retention.outage-attested.v1")
    assert attested["fingerprint"] == first.fingerprint
    keys = [VerifierKey.from_string(k) for k in harness.signer.verifier_keys()]
    import base64

    pdf = base64.b64decode(first.pdf_base64)
    document = verify_attestation(first.signed_json.encode(), keys, pdf)
    # What OpenAPI documents is what is served.
    assert SignedAttestation.model_validate_json(first.signed_json).attestation.incident_id == (
        incident.id
    )
    moved = {t["territory"]: t["moved_to"] for t in document["territories"]}
    assert len(moved) == 9
    assert set(moved.values()) == {"2027-05-18"}
    assert document["started_at"] == FRIDAY_EVENING.isoformat()
    # No receipt source here: both journal events are listed as missing, with the reason.
    assert len(document["missing_receipts"]) == 2
    assert b"Attestation d'indisponibilit\xe9" in pdf
    twin = json.loads(first.signed_json)
    twin["attestation"]["territories"][0]["moved_to"] = "2027-05-19"
    with pytest.raises(IntegrityError):
        verify_attestation(json.dumps(twin).encode(), keys)
    with pytest.raises(IntegrityError):
        verify_attestation(first.signed_json.encode(), keys, pdf + b" ")
    json_path, pdf_path = tmp_path / "a.json", tmp_path / "a.pdf"
    json_path.write_text(first.signed_json)
    pdf_path.write_bytes(pdf)
    args = ["verify-attestation", "--attestation", str(json_path), "--pdf", str(pdf_path)]
    keys_args = [a for k in harness.signer.verifier_keys() for a in ("--public-key", k)]
    import io

    out = io.StringIO()
    assert cli_main([*args, *keys_args], out=out) == 0
    assert "metropole: deadlines move to 2027-05-18" in out.getvalue()
    json_path.write_text(json.dumps(twin))
    assert cli_main([*args, *keys_args], out=io.StringIO()) == 1


async def test_the_status_page_and_atom_feed_need_no_login_and_no_script(
    status: tuple[Status, Services], harness: Harness
) -> None:
    state, services = status
    services.down.add("notify")
    await state.probes.run_once()
    from retention.status.incidents import Scope

    incident = await state.incidents.open("panne", Scope(["notify"], ["reunion"]), "op-1")
    harness.clock.advance(timedelta(minutes=30))
    await state.incidents.close(incident.id, "op-1")
    app = FastAPI()
    app.include_router(status_page_router(state))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        page = await c.get("/statut")
        atom = await c.get("/statut.atom")
        css = await c.get("/portail/static/portail.css")
    assert page.status_code == 200
    assert css.status_code == 200
    html = page.text
    assert '<html lang="fr">' in html
    assert "<script" not in html
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]
    assert "Avis de mise à disposition" in html
    assert "indisponible" in html
    assert "vendredi 14 mai 2027 à 20 h 00 (heure légale de La Réunion)" in html
    assert f"/v1/incidents/{incident.id}/attestation.pdf" in html
    assert atom.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(atom.content)  # noqa: S314 - our own feed, just generated
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = [e.findtext("a:id", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert ids == [f"urn:securact:incident:{incident.id}"]


def test_an_unknown_incident_is_a_refusal_not_a_failure() -> None:
    from retention.status.context import not_found

    refusal = not_found("incident")
    assert isinstance(refusal, Refusal)
    assert refusal.status == 404


async def test_two_replicas_probing_at_once_open_one_incident(
    status: tuple[Status, Services], harness: Harness
) -> None:
    state, services = status
    other = wire_status(harness.retention.ctx, _settings_of(state), state.probes.http)
    services.down.add("audit")
    await state.probes.run_once()
    harness.clock.advance(THRESHOLD)
    await asyncio.gather(state.probes.run_once(), other.probes.run_once())
    await asyncio.gather(state.probes.run_once(), other.probes.run_once())
    [incident] = await state.incidents.current()
    assert incident.probe_service == "audit"
    assert len(await harness.payloads("retention.incident-opened.v1")) == 1


def _settings_of(state: Status) -> Settings:
    targets = state.ctx.policy.targets
    return Settings(
        log_json=False,
        status_probe_services=list(targets),
        status_probe_urls=dict(targets),
        status_outage_threshold_seconds=state.ctx.policy.threshold.total_seconds(),
    )
