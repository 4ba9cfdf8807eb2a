"""Notices to users on retention's side: only an operator issues them; a breach notice needs
every text article 34 requires; a maintenance notice goes out only when the operator asks on
the announcement; each notice is one event, with no address and no person in it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from retention.status.api import status_router
from retention.status.service import Status
from shared.auth import install_token_verifier
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from tests.unit.consent.support import Tokens
from tests.unit.retention.conftest import Harness
from tests.unit.retention.test_status import Services
from tests.unit.retention.test_status import status as status

BREACH = {
    "nature": "Un accès non autorisé à la base des adresses de notification.",
    "consequences": "Des courriels frauduleux pourraient vous être adressés.",
    "measures": "L'accès a été coupé et les mots de passe réinitialisés.",
    "contact": "dpo@securact.test",
}
NOTICE = "retention.user-notice-issued.v1"


@pytest.fixture
async def client(
    status: tuple[Status, Services],
    harness: Harness,
) -> AsyncIterator[tuple[httpx.AsyncClient, Tokens]]:
    app = FastAPI()
    app.include_router(status_router(status[0]))
    install_problem_handlers(app)
    install_refusal_handlers(app)
    tokens = Tokens(harness.clock)
    install_token_verifier(app, tokens.verifier())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c, tokens


async def test_only_an_operator_issues_a_breach_notice_with_every_required_text(
    client: tuple[httpx.AsyncClient, Tokens], harness: Harness
) -> None:
    c, tokens = client
    operator = tokens.bearer(sub="op-1", role="operator")
    recipient = tokens.bearer(sub="acc-1", role="recipient")
    assert (await c.post("/v1/notices/breach", json=BREACH)).status_code == 401
    assert (await c.post("/v1/notices/breach", json=BREACH, headers=recipient)).status_code == 403
    for missing in BREACH:
        body = {k: v for k, v in BREACH.items() if k != missing}
        refused = await c.post("/v1/notices/breach", json=body, headers=operator)
        assert refused.status_code == 422, missing
        assert refused.headers["content-type"].startswith("application/problem+json")
    blank = await c.post("/v1/notices/breach", json={**BREACH, "nature": ""}, headers=operator)
    assert blank.status_code == 422
    wrong = await c.post(
        "/v1/notices/breach", json={**BREACH, "territories": ["atlantide"]}, headers=operator
    )
    assert wrong.status_code == 422
    assert await harness.payloads(NOTICE) == []

    issued = await c.post(
        "/v1/notices/breach",
        json={**BREACH, "territories": ["reunion"], "offices": ["etude-1"]},
        headers=operator,
    )
    assert issued.status_code == 201, issued.text
    view = issued.json()
    assert view["kind"] == "breach"
    assert view["issued_by"] == "op-1"
    assert view["breach"]["contact"] == BREACH["contact"]
    [event] = await harness.payloads(NOTICE)
    assert event["notice_id"] == view["id"]
    assert (event["territories"], event["offices"]) == (["reunion"], ["etude-1"])
    assert event["breach"] == BREACH
    assert event["maintenance"] is None
    read = await c.get(f"/v1/notices/{view['id']}", headers=operator)
    assert read.status_code == 200
    assert read.json()["event_id"] == view["event_id"]
    assert (await c.get(f"/v1/notices/{view['id']}", headers=recipient)).status_code == 403
    missing_notice = await c.get("/v1/notices/nope", headers=operator)
    assert missing_notice.status_code == 404


async def test_a_maintenance_notice_goes_out_only_when_the_operator_asks(
    client: tuple[httpx.AsyncClient, Tokens], harness: Harness
) -> None:
    c, tokens = client
    operator = tokens.bearer(sub="op-1", role="operator")
    start = harness.clock.now() + timedelta(days=3)
    body = {
        "services": ["delivery"],
        "territories": ["guadeloupe"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "description": "mise à jour du stockage",
    }
    quiet = await c.post("/v1/maintenances", json=body, headers=operator)
    assert quiet.status_code == 201, quiet.text
    assert quiet.json()["notice_id"] is None
    assert await harness.payloads(NOTICE) == []
    told = await c.post("/v1/maintenances", json={**body, "notify_users": True}, headers=operator)
    assert told.status_code == 201, told.text
    [event] = await harness.payloads(NOTICE)
    assert event["notice_id"] == told.json()["notice_id"]
    assert event["kind"] == "maintenance"
    assert event["breach"] is None
    assert event["territories"] == ["guadeloupe"]
    assert event["offices"] == []
    assert event["maintenance"]["maintenance_id"] == told.json()["id"]
    assert event["maintenance"]["description"] == "mise à jour du stockage"
    # Ids, scope, instants and the operator's texts only: no address.
    assert "@" not in json.dumps(event)
    # The one announced without it: its notice afterwards, once.
    quiet_id = quiet.json()["id"]
    later = await c.post(f"/v1/maintenances/{quiet_id}/notice", headers=operator)
    assert later.status_code == 200, later.text
    assert later.json()["notice_id"]
    again = await c.post(f"/v1/maintenances/{quiet_id}/notice", headers=operator)
    assert again.status_code == 409
    assert again.json()["type"].endswith("notice-already-sent")
    assert len(await harness.payloads(NOTICE)) == 2
    unknown = await c.post("/v1/maintenances/nope/notice", headers=operator)
    assert unknown.status_code == 404
    forgotten = await c.post("/v1/maintenances", json=body, headers=operator)
    harness.clock.advance(timedelta(days=4))
    operator = tokens.bearer(sub="op-1", role="operator")
    over = await c.post(f"/v1/maintenances/{forgotten.json()['id']}/notice", headers=operator)
    assert over.status_code == 409
    assert over.json()["type"].endswith("maintenance-over")
