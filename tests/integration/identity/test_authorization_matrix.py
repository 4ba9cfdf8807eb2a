"""Every endpoint of identity, for each caller: anonymous, recipient, other recipient, office
client, operator.

One identity app (SQLite, real RabbitMQ under a prefix) serves the whole table; each cell makes
its own actors, so a destructive cell (suspension, termination, logout) cannot leak into
another. `{account}` is the recipient's own account id, `{client}` an office client registered
for the cell.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.clock import SystemClock
from tests.fixtures.rabbit import AMQP_URL, delete_prefixed
from tests.integration.identity.support import (
    PASSWORD,
    identity_app,
    identity_of,
    office_token,
    operator_token,
    recipient,
)
from tests.support.services import running

CALLERS = ("anonymous", "recipient", "other", "office", "operator")
FUTURE = (SystemClock().now() + timedelta(days=60)).isoformat()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    expected: tuple[int, int, int, int, int]  # in CALLERS order
    body: Any = None
    form: dict[str, str] | None = None


ENDPOINTS = (
    Endpoint("GET", "/.well-known/jwks.json", (200, 200, 200, 200, 200)),
    Endpoint("GET", "/v1/terms/current", (200, 200, 200, 200, 200)),
    Endpoint("GET", "/v1/terms/upcoming", (200, 200, 200, 200, 200)),
    Endpoint("GET", "/v1/revocations?since=2030-01-01T00:00:00Z", (200, 200, 200, 200, 200)),
    Endpoint(
        "POST",
        "/v1/sessions",
        (201, 201, 201, 201, 201),
        {"identifier": "{identifier}", "password": PASSWORD},
    ),
    Endpoint("POST", "/v1/sessions/refresh", (401,) * 5, {"refresh_token": "forged"}),
    Endpoint("POST", "/v1/activations", (410,) * 5, {"token": "forged", "password": "x" * 16}),
    Endpoint("POST", "/v1/password-resets", (202,) * 5, {"identifier": "{identifier}"}),
    Endpoint(
        "POST",
        "/v1/password-resets/completion",
        (410,) * 5,
        {"token": "forged", "password": "x" * 16},
    ),
    Endpoint("DELETE", "/v1/sessions/current", (401, 204, 204, 403, 204)),
    Endpoint("GET", "/v1/me", (401, 200, 200, 403, 200)),
    Endpoint("GET", "/v1/me/export", (401, 200, 200, 403, 200)),
    Endpoint(
        "POST",
        "/v1/me/password",
        (401, 204, 204, 403, 204),
        {"current_password": PASSWORD, "new_password": "nouvelle-phrase-secrete"},
    ),
    Endpoint("POST", "/v1/me/totp", (401, 200, 200, 403, 200)),
    Endpoint("POST", "/v1/me/totp/confirmation", (401, 422, 422, 403, 422), {"code": "000000"}),
    Endpoint("POST", "/v1/me/totp/deactivation", (401, 204, 204, 403, 204), {"password": PASSWORD}),
    Endpoint("POST", "/v1/me/termination", (401, 200, 200, 403, 403), {"confirm": True}),
    Endpoint("POST", "/v1/terms/current/acceptance", (401, 200, 200, 403, 403), {}),
    Endpoint("POST", "/v1/terms/current/refusal", (401, 409, 409, 403, 403), {}),
    Endpoint(
        "POST",
        "/v1/terms",
        (401, 403, 403, 403, 201),
        {"markdown": "# CGU v2\n", "effective_at": FUTURE},
    ),
    Endpoint(
        "POST",
        "/v1/clients",
        (401, 403, 403, 403, 201),
        {"office_id": "e-2", "bailiff_name": "Maître B", "scopes": ["registry:read"]},
    ),
    Endpoint(
        "POST",
        "/v1/accounts/{account}/suspension",
        (401, 403, 403, 403, 204),
        {"reason": "compromission"},
    ),
    Endpoint("DELETE", "/v1/accounts/{account}/suspension", (401, 403, 403, 403, 204)),
    Endpoint("POST", "/v1/accounts/{account}/credential-revocation", (401, 403, 403, 403, 204)),
    # The account is activated already: the operator is allowed, the request is not.
    Endpoint("POST", "/v1/accounts/{account}/activation-link", (401, 403, 403, 403, 409)),
    Endpoint("POST", "/oauth/token", (401,) * 5, form={"grant_type": "client_credentials"}),
    Endpoint("POST", "/v1/link-checks", (410,) * 5, {"token": "forged", "purpose": "activation"}),
    Endpoint("GET", "/v1/clients/{client}", (401, 403, 403, 403, 200)),
    Endpoint("POST", "/v1/clients/{client}/deactivation", (401, 403, 403, 403, 204)),
    Endpoint("DELETE", "/v1/clients/{client}/deactivation", (401, 403, 403, 403, 204)),
    Endpoint("POST", "/v1/clients/{client}/secret-rotation", (401, 403, 403, 403, 200)),
)


@pytest.fixture(scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    prefix = f"t{secrets.token_hex(4)}."
    data_dir: Path = tmp_path_factory.mktemp("identity-matrix")
    app = identity_app(data_dir, prefix)
    try:
        async with running(app) as client:
            yield app, client
    finally:
        await delete_prefixed(AMQP_URL, prefix)


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("endpoint", "caller"),
    [
        pytest.param(e, c, id=f"{e.method} {e.path.split('?')[0]} as {c}")
        for e in ENDPOINTS
        for c in CALLERS
    ],
)
async def test_authorization_matrix(
    served: tuple[FastAPI, httpx.AsyncClient], endpoint: Endpoint, caller: str
) -> None:
    app, client = served
    tag = secrets.token_hex(4)
    owner = await recipient(app, client, f"owner-{tag}")
    token: str | None = None
    if caller == "recipient":
        token = owner.access_token
    elif caller == "other":
        token = (await recipient(app, client, f"other-{tag}")).access_token
    elif caller == "office":
        token = await office_token(app, client)
    elif caller == "operator":
        token = await operator_token(app, client, f"op-{tag}")
    office_client = await identity_of(app).clients.register(
        f"etude-{tag}", "Maître Matrice", ["registry:read"], operator="test"
    )
    names = {
        "account": owner.account_id,
        "identifier": owner.identifier,
        "client": office_client.client_id,
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = await client.request(
        endpoint.method,
        _fill(endpoint.path, names),
        json=_fill(endpoint.body, names) if endpoint.body is not None else None,
        data=endpoint.form,
        headers=headers,
    )

    expected = endpoint.expected[CALLERS.index(caller)]
    assert response.status_code == expected, response.text
    if expected >= 400 and not endpoint.path.startswith("/oauth"):
        assert response.headers["content-type"] == "application/problem+json"
