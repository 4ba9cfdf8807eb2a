"""`GET /v1/notifications?subject=…`: the operator and the serving office, nobody else. Tokens
are signed here with a generated Ed25519 key and verified through the shared verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from notify.api import notifications_router
from notify.service import Notify
from shared.auth import install_token_verifier
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from tests.support.tokens import ISSUER, TokenSigner
from tests.unit.notify import events
from tests.unit.notify.conftest import Env


@pytest.fixture
def signer(env: Env) -> TokenSigner:
    return TokenSigner(env.clock, "notify", lifetime=timedelta(minutes=5))


def token(signer: TokenSigner, *, sub: str = "someone", **claims: Any) -> str:
    return signer.token(sub=sub, **claims)


@pytest.fixture
async def client(env: Env, signer: TokenSigner) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    app.include_router(notifications_router(env.notify))
    install_token_verifier(app, signer.verifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
        yield http


async def _history(
    client: httpx.AsyncClient, bearer: str | None, subject: str = "act:act-1"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return await client.get("/v1/notifications", params={"subject": subject}, headers=headers)


async def test_the_operator_reads_the_history_of_an_act(
    env: Env, client: httpx.AsyncClient, signer: TokenSigner
) -> None:
    await env.take(events.act_served(env.clock, mobile="+33612345678"))
    await env.drain()
    response = await _history(client, token(signer, role="operator"))
    assert response.status_code == 200
    entries = response.json()["notifications"]
    assert sorted(e["channel"] for e in entries) == ["email", "sms"]
    assert all(e["state"] == "sent" for e in entries)
    assert "jean.dupont@example.fr" not in response.text
    assert "+33612345678" not in response.text


async def test_the_serving_office_reads_its_act_and_no_other(
    env: Env, client: httpx.AsyncClient, signer: TokenSigner
) -> None:
    await env.take(events.act_served(env.clock, act_id="act-1", office_id="office-7"))
    await env.take(events.act_served(env.clock, act_id="act-2", office_id="office-8"))
    own = await _history(client, token(signer, role="bailiff", office_id="office-7"))
    assert own.status_code == 200
    assert own.json()["notifications"][0]["office_id"] == "office-7"
    other = await _history(client, token(signer, role="bailiff", office_id="office-7"), "act:act-2")
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"


async def test_recipients_and_anonymous_callers_are_refused(
    env: Env, client: httpx.AsyncClient, signer: TokenSigner
) -> None:
    await env.take(events.act_served(env.clock))
    assert (await _history(client, None)).status_code == 401
    assert (await _history(client, token(signer, role="recipient", sub="acc-1"))).status_code == 403
    forged = jwt.encode(
        {"iss": ISSUER, "aud": "notify", "sub": "x", "iat": 0, "exp": 9_999_999_999},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": "k1"},
    )
    assert (await _history(client, forged)).status_code == 401


async def test_an_unknown_subject_answers_404_to_the_operator(
    env: Env, client: httpx.AsyncClient, signer: TokenSigner
) -> None:
    assert (await _history(client, token(signer, role="operator"), "act:nope")).status_code == 404


async def test_the_history_shows_instants_as_stored_and_no_address(
    env: Env, client: httpx.AsyncClient, signer: TokenSigner
) -> None:
    await env.take(events.act_served(env.clock))
    await env.drain()
    response = await _history(client, token(signer, role="operator"))
    [entry] = response.json()["notifications"]
    assert entry["created_at"] == "2031-03-03T10:00:00.000000Z"
    assert entry["accepted_at"] == "2031-03-03T10:00:00.000000Z"
    assert entry["contact_purged_at"] is None
    assert entry["recipient_masked"] == "j***@example.fr"
    assert "address" not in entry
    assert "content" not in entry


async def test_refusals_are_typed_problems(
    env: Env, client: httpx.AsyncClient, signer: TokenSigner
) -> None:
    forbidden = await _history(client, token(signer, role="recipient", sub="acc-1"))
    assert forbidden.json()["type"] == "urn:securact:problem:forbidden"
    missing = await _history(client, token(signer, role="operator"), "act:nope")
    assert missing.json()["type"] == "urn:securact:problem:notifications-not-found"
    assert missing.json()["title"] == "No notifications"


def test_every_route_declares_its_response_model() -> None:
    app = FastAPI()
    app.include_router(notifications_router(cast(Notify, object())))
    answers = {
        path: operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        for path, operations in app.openapi()["paths"].items()
        for operation in operations.values()
    }
    assert answers == {
        "/v1/notifications": "#/components/schemas/NotificationHistory",
        "/v1/notices/{notice_id}": "#/components/schemas/NoticeProgress",
    }
