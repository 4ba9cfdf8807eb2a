"""The consent acceptance flow across services, shared by the integration test (activation link
read from identity's outbox) and the end-to-end test (link read from the dev mailbox):

office registers a declaration at consent → identity opens the account → activation → login →
CGU accepted → the registry answers `active` → the person revokes → the registry answers
`revoked`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from identity.service import Identity
from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import consent_app, ready_bucket, registry_of
from tests.support.services import eventually
from tests.unit.consent.support import (
    BIRTH,
    EMAIL,
    NATURAL_FILES,
    NOM,
    PRENOMS,
    multipart_body,
    natural_declaration,
)

PASSWORD = "cheval-batterie-agrafe-correcte"
PERSONAL = [NOM, PRENOMS, "Éloïse", "Eloise", EMAIL, BIRTH.isoformat(), "19/07/1984"]
LOOKUP = {
    "nom": NOM,
    "prenoms": PRENOMS,
    "date_naissance": BIRTH.isoformat(),
    "purpose": "dossier 2031-E2E",
}

LinkFinder = Callable[[str], Awaitable[str]]
"""Given the account id, the activation URL the person received."""


def consent_verifying_identity(identity_app: FastAPI) -> TokenVerifier:
    """Consent's verifier, fetching identity's JWKS from the in-process identity app."""
    issuer = identity_app.state.identity.ctx.settings.issuer
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app))
    config = VerifierConfig(
        jwks_url=f"{issuer}/.well-known/jwks.json", issuer=issuer, audiences=frozenset({"consent"})
    )
    return TokenVerifier(config, http, SystemClock())


def consent_for(data_dir: Path, bus_prefix: str, s3: S3Server, identity_app: FastAPI) -> FastAPI:
    return consent_app(
        data_dir, bus_prefix, s3, token_verifier=consent_verifying_identity(identity_app)
    )


@dataclass
class Parties:
    identity_app: FastAPI
    identity: httpx.AsyncClient
    consent_app: FastAPI
    consent: httpx.AsyncClient


async def office_token(
    identity_app: FastAPI,
    identity: httpx.AsyncClient,
    scopes: tuple[str, ...] = ("registry:write", "registry:read"),
    office_id: str = "etude-e2e",
) -> str:
    """A registered office client's access token, through identity's real `/oauth/token`."""
    service: Identity = identity_app.state.identity
    client = await service.clients.register(
        office_id, "Maître Essai", list(scopes), operator="test"
    )
    response = await identity.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def login(identity: httpx.AsyncClient, identifier: str) -> dict[str, Any]:
    response = await identity.post(
        "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run_consent_flow(parties: Parties, find_link: LinkFinder) -> None:
    await ready_bucket(parties.consent_app)
    office = _bearer(await office_token(parties.identity_app, parties.identity))
    today = SystemClock().now().date()
    body, content_type = multipart_body(natural_declaration(today), NATURAL_FILES)
    created = await parties.consent.post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    declaration_id = created.json()["id"]
    registry = registry_of(parties.consent_app)

    # Identity opens the account (consent's event over the bus) and consent links it back.
    async def linked() -> bool:
        document = await registry.get(declaration_id)
        return document is not None and document["account_id"] is not None

    await eventually(linked, within=30)
    document = await registry.get(declaration_id)
    assert document is not None
    account_id = str(document["account_id"])

    activation_url = await find_link(account_id)
    token = httpx.URL(activation_url).params["token"]
    activated = await parties.identity.post(
        "/v1/activations", json={"token": token, "password": PASSWORD}
    )
    assert activated.status_code == 200, activated.text
    identifier = activated.json()["identifier"]
    first = await login(parties.identity, identifier)
    assert first["terms_acceptance_required"] is True
    accepted = await parties.identity.post(
        "/v1/terms/current/acceptance", json={}, headers=_bearer(first["access_token"])
    )
    assert accepted.status_code == 200, accepted.text

    async def answers(status: str) -> bool:
        lookup = await parties.consent.post("/v1/registry/search", json=LOOKUP, headers=office)
        assert lookup.status_code == 200, lookup.text
        return bool(lookup.json().get("status") == status)

    await eventually(lambda: answers("active"), within=30)

    session = await login(parties.identity, identifier)
    person = _bearer(session["access_token"])
    mine = await parties.consent.get("/v1/me/declaration", headers=person)
    assert mine.status_code == 200, mine.text
    assert mine.json()["id"] == declaration_id
    revoked = await parties.consent.post(
        "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
    )
    assert revoked.status_code == 200, revoked.text
    assert await answers("revoked")
