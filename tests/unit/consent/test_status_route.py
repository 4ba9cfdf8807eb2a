"""Consent's status route for the platform's services: what delivery asks at the sending
instant (CPC 748-2), answered to a service token with `consent:status` only, and nothing about
the person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from consent.api import consent_router, internal_router
from shared.auth import install_token_verifier
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from shared.store.port import from_iso
from tests.unit.consent.conftest import START, Harness
from tests.unit.consent.support import Tokens
from tests.unit.consent.test_api import LIMITS, Api

STATUS = "/internal/v1/declarations/{id}/status"


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[Api]:
    tokens = Tokens(harness.clock)
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    app.include_router(consent_router(harness.consent, LIMITS))
    app.include_router(internal_router(harness.consent))
    install_token_verifier(app, tokens.verifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://consent") as client:
        yield Api(harness, client, tokens)


def delivery(api: Api, scopes: str = "consent:status") -> dict[str, str]:
    return api.tokens.bearer(sub="service-delivery", role="service", scopes=scopes)


async def test_cpc_748_2_the_registry_answers_a_service_whether_the_consent_allows_serving(
    api: Api,
) -> None:
    declaration_id = await api.registered()
    registered = await api.client.get(STATUS.format(id=declaration_id), headers=delivery(api))
    assert registered.status_code == 200, registered.text
    assert registered.json()["active"] is False
    assert registered.json()["ended"] is None
    await api.link(declaration_id, "acc-1")
    await api.activate(declaration_id, "acc-1")
    active = await api.client.get(STATUS.format(id=declaration_id), headers=delivery(api))
    body = active.json()
    assert body["active"] is True
    assert body["ended"] is None
    assert body["territory"] == "metropole"
    assert set(body) == {
        "declaration_id",
        "active",
        "scope",
        "valid_until",
        "territory",
        "ended",
        "as_of",
    }
    assert active.headers["cache-control"] == "no-store"


async def test_cpc_748_2_a_revoked_consent_answers_when_and_why_it_ended(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    await api.activate(declaration_id, "acc-1")
    api.h.clock.advance(timedelta(minutes=3))
    revoked = await api.client.post(
        "/v1/me/declaration/revocation",
        json={"confirmation": True},
        headers=api.tokens.recipient("acc-1"),
    )
    assert revoked.status_code == 200, revoked.text
    answer = (await api.client.get(STATUS.format(id=declaration_id), headers=delivery(api))).json()
    assert answer["active"] is False
    assert answer["ended"]["reason"] == "revoked"
    assert from_iso(answer["ended"]["at"]) == START + timedelta(minutes=3)


async def test_the_status_route_is_for_service_clients_with_its_scope_only(api: Api) -> None:
    declaration_id = await api.registered()
    path = STATUS.format(id=declaration_id)
    office = await api.client.get(path, headers=api.tokens.office(scopes="consent:status"))
    assert office.status_code == 403
    unscoped = await api.client.get(path, headers=delivery(api, scopes="links:read"))
    assert unscoped.status_code == 403
    anonymous = await api.client.get(path)
    assert anonymous.status_code == 401
    unknown = await api.client.get(STATUS.format(id="nope"), headers=delivery(api))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
