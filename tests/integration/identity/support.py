"""Identity running in-process (SQLite, real RabbitMQ under a test prefix) and helpers that
make its actors: recipients, an operator, an office client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from consent.statement import ARTICLES
from identity.consumers import declarations_subscription
from identity.main import ACCOUNTS_INBOX, create_app
from identity.service import Identity
from identity.settings import Settings
from shared.clock import Clock
from shared.contracts.consent import DeclarationRegisteredV1, PersonKind
from shared.contracts.envelope import Envelope
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.support.services import service_env

PASSWORD = "cheval-batterie-agrafe-correcte"


def identity_settings(data_dir: Path, bus_prefix: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        **service_env(data_dir, bus_prefix),
        "token_key_file": data_dir / "token-keys.json",
        "kek_file": data_dir / "kek.json",
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8,
        # Only version 1: the tests publish their own later versions.
        "publish_shipped_terms": False,
        **extra,
    }
    return Settings(**values)


def identity_app(
    data_dir: Path, bus_prefix: str, *, clock: Clock | None = None, **extra: Any
) -> FastAPI:
    return create_app(
        identity_settings(data_dir, bus_prefix, **extra),
        clock=clock,
        consent_http=ConsentStandIn().client(),
    )


def identity_of(app: FastAPI) -> Identity:
    identity: Identity = app.state.identity
    return identity


@dataclass
class Recipient:
    account_id: str
    identifier: str
    access_token: str
    session_id: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def outbox_envelopes(app: FastAPI, event_type: str) -> list[Envelope]:
    runtime: ServiceRuntime = app.state.runtime
    rows = await runtime.store.find(OUTBOX, sort=[("_id", 1)])
    envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
    return [e for e in envelopes if e.type == event_type]


ACTIVATION_ISSUED = "identity.activation-link-issued.v2"
RESET_REQUESTED = "identity.password-reset-requested.v2"


async def link_url(app: FastAPI, payload: dict[str, Any]) -> str:
    """The link an issued-link event names by `link_id`, as identity hands it to notify (the
    event itself never carries it)."""
    link = await identity_of(app).accounts.deliverable_link(str(payload["link_id"]))
    return link.url


async def activation_url(app: FastAPI, account_id: str) -> str:
    """The latest activation link of an account."""
    issued = [
        e.payload
        for e in await outbox_envelopes(app, ACTIVATION_ISSUED)
        if e.payload["account_id"] == account_id
    ]
    assert issued, "identity issued no activation link"
    return await link_url(app, issued[-1])


async def declare(app: FastAPI, declaration_id: str) -> str:
    """Hand a declaration to identity's consumer (as the bus would); the new account id."""
    runtime: ServiceRuntime = app.state.runtime
    identity = identity_of(app)
    envelope = runtime.envelope(
        DeclarationRegisteredV1(
            declaration_id=declaration_id,
            person_kind=PersonKind.NATURAL,
            email=f"{declaration_id}@example.org",
        ),
        subject=f"declaration:{declaration_id}",
    )
    subscription = declarations_subscription(identity.accounts, runtime.inbox(ACCOUNTS_INBOX))
    await subscription.handler(envelope)
    found = await runtime.store.find("accounts", {"declaration_id": declaration_id})
    return str(found[0]["_id"])


async def recipient(app: FastAPI, client: httpx.AsyncClient, declaration_id: str) -> Recipient:
    """A recipient who activated, logged in and accepted the CGU, through the HTTP API."""
    account_id = await declare(app, declaration_id)
    url = await activation_url(app, account_id)
    token = parse_qs(urlsplit(url).query)["token"][0]
    activated = await client.post("/v1/activations", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    identifier = activated.json()["identifier"]
    first = await login(client, identifier)
    assert first["terms_acceptance_required"] is True
    accepted = await client.post(
        "/v1/terms/current/acceptance",
        json={},
        headers={"Authorization": f"Bearer {first['access_token']}"},
    )
    assert accepted.status_code == 200, accepted.text
    session = await login(client, identifier)
    return Recipient(account_id, identifier, session["access_token"], session["session_id"])


async def login(client: httpx.AsyncClient, identifier: str, password: str = PASSWORD) -> Any:
    response = await client.post(
        "/v1/sessions", json={"identifier": identifier, "password": password}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def operator_token(app: FastAPI, client: httpx.AsyncClient, identifier: str) -> str:
    await identity_of(app).accounts.create_operator(identifier, PASSWORD)
    return str((await login(client, identifier))["access_token"])


async def office_token(app: FastAPI, client: httpx.AsyncClient) -> str:
    registered = await identity_of(app).clients.register(
        "etude-1", "Maître Test", ["acts:write", "registry:read"], operator="test"
    )
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(registered.client_id, registered.client_secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


TOKEN_LIFETIME = timedelta(minutes=10)


class ConsentStandIn:
    """Consent's statement and validation routes, for the identity-only portal tests whose
    subject is not consent (activation, account, acts pages): the CGU page needs the person's
    declaration to offer the acceptance. The real binding is tested against the real consent
    in test_portal_consent.py. Records the validated hashes."""

    CONTENT_HASH = "5" * 64

    def __init__(self) -> None:
        self.validated: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == "/v1/me/declaration/statement":
            return httpx.Response(200, json=self.statement())
        if request.method == "POST" and path == "/v1/me/declaration/validation":
            shown = json.loads(request.content)["content_hash"]
            if shown != self.CONTENT_HASH:
                return httpx.Response(
                    409, json={"type": "urn:securact:problem:declaration-statement-changed"}
                )
            self.validated.append(shown)
            return httpx.Response(200, json=self.statement())
        return httpx.Response(404, json={"title": "Not found"})

    def statement(self) -> dict[str, Any]:
        return {
            "declaration_id": "decl",
            "status": "registered",
            "person_kind": "natural",
            "identity": [{"label": "Nom", "value": "QUENNEVILLE"}],
            "scope": ["signification_jugement"],
            "valid_until": None,
            "revocation_modalities": "Depuis votre espace, à tout moment.",
            "office_id": "etude-1",
            "articles": [a.model_dump() for a in ARTICLES],
            "articles_source": "https://www.legifrance.gouv.fr/",
            "content_hash": self.CONTENT_HASH,
        }

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(self.handle), base_url="http://consent.test"
        )
