"""`GET /v1/notifications?subject=…`: the operator and the serving office, nobody else. Tokens
are signed here with a generated Ed25519 key and verified through the shared verifier."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from notify.api import notifications_router
from shared.auth import TokenVerifier, VerifierConfig, install_token_verifier
from shared.problems import install_problem_handlers
from tests.unit.notify import events
from tests.unit.notify.conftest import Env

JWKS_URL = "http://identity.test/.well-known/jwks.json"
ISSUER = "http://identity.test"
KEY = Ed25519PrivateKey.generate()


def _jwks(_request: httpx.Request) -> httpx.Response:
    raw = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "use": "sig", "alg": "EdDSA"}
    return httpx.Response(200, json={"keys": [jwk]})


def token(env: Env, **claims: Any) -> str:
    now = int(env.clock.now().timestamp())
    body = {"iss": ISSUER, "aud": "notify", "sub": "someone", "iat": now, "exp": now + 300}
    body.update(claims)
    return jwt.encode(body, KEY, algorithm="EdDSA", headers={"kid": "k1"})


@pytest.fixture
async def client(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(notifications_router(env.notifier))
    jwks = httpx.AsyncClient(transport=httpx.MockTransport(_jwks))
    verifier = TokenVerifier(
        VerifierConfig(jwks_url=JWKS_URL, issuer=ISSUER, audiences=frozenset({"notify"})),
        jwks,
        env.clock,
    )
    install_token_verifier(app, verifier)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
        yield http
    await jwks.aclose()


async def _history(
    client: httpx.AsyncClient, bearer: str | None, subject: str = "act:act-1"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return await client.get("/v1/notifications", params={"subject": subject}, headers=headers)


async def test_the_operator_reads_the_history_of_an_act(
    env: Env, client: httpx.AsyncClient
) -> None:
    await env.take(events.act_served(env.clock, mobile="+33612345678"))
    await env.drain()
    response = await _history(client, token(env, role="operator"))
    assert response.status_code == 200
    entries = response.json()["notifications"]
    assert sorted(e["channel"] for e in entries) == ["email", "sms"]
    assert all(e["state"] == "sent" for e in entries)
    assert "jean.dupont@example.fr" not in response.text
    assert "+33612345678" not in response.text


async def test_the_serving_office_reads_its_act_and_no_other(
    env: Env, client: httpx.AsyncClient
) -> None:
    await env.take(events.act_served(env.clock, act_id="act-1", office_id="office-7"))
    await env.take(events.act_served(env.clock, act_id="act-2", office_id="office-8"))
    own = await _history(client, token(env, role="bailiff", office_id="office-7"))
    assert own.status_code == 200
    assert own.json()["notifications"][0]["office_id"] == "office-7"
    other = await _history(client, token(env, role="bailiff", office_id="office-7"), "act:act-2")
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"


async def test_recipients_and_anonymous_callers_are_refused(
    env: Env, client: httpx.AsyncClient
) -> None:
    await env.take(events.act_served(env.clock))
    assert (await _history(client, None)).status_code == 401
    assert (await _history(client, token(env, role="recipient", sub="acc-1"))).status_code == 403
    forged = jwt.encode(
        {"iss": ISSUER, "aud": "notify", "sub": "x", "iat": 0, "exp": 9_999_999_999},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": "k1"},
    )
    assert (await _history(client, forged)).status_code == 401


async def test_an_unknown_subject_answers_404_to_the_operator(
    env: Env, client: httpx.AsyncClient
) -> None:
    assert (await _history(client, token(env, role="operator"), "act:nope")).status_code == 404
