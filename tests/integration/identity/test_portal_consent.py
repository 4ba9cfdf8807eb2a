"""The portal's consent pages inside the real identity app, calling the real consent app
(SQLite stores, SeaweedFS, RabbitMQ under a test prefix): a person signed in on the portal sees
their declaration, downloads their data and revokes, and the registry answers `revoked`."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
from fastapi import FastAPI

from identity.main import create_app
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import LOOKUP, PASSWORD, consent_for, office_token
from tests.integration.consent.support import ready_bucket, registry_of
from tests.integration.identity.support import (
    activation_url,
    declare,
    identity_settings,
    operator_token,
)
from tests.support.services import eventually, running
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None
    return found.group(1)


class LateAsgiTransport(httpx.AsyncBaseTransport):
    """An ASGI transport whose app is set after the client exists: consent's app needs
    identity's (for its JWKS) and identity's needs the client reaching consent."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "consent app not attached"
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


async def set_password_on_the_portal(
    identity: FastAPI, portal: httpx.AsyncClient, account: str
) -> None:
    """Activation link → password: the session then faces the CGU."""
    token = httpx.URL(await activation_url(identity, account)).params["token"]
    page = await portal.get(f"/activation?token={token}")
    activated = await portal.post(
        "/activation",
        data={
            "csrf_token": csrf_of(page.text),
            "token": token,
            "mot_de_passe": PASSWORD,
            "confirmation": PASSWORD,
        },
    )
    assert activated.status_code == 303, activated.text


async def activate_on_the_portal(identity: FastAPI, portal: httpx.AsyncClient, account: str) -> str:
    """Activation link → password → CGU accepted, all through the portal's pages."""
    await set_password_on_the_portal(identity, portal, account)
    cgu = await portal.get("/cgu")
    assert cgu.status_code == 200, cgu.text
    accepted = await portal.post(
        "/cgu/acceptation",
        data={
            "csrf_token": csrf_of(cgu.text),
            "version": "1",
            "declaration": declaration_hash_of(cgu.text),
        },
    )
    assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
    return declaration_hash_of(cgu.text)


def declaration_hash_of(html: str) -> str:
    found = re.search(r'name="declaration" value="([0-9a-f]{64})"', html)
    assert found is not None, "the CGU page binds no declaration"
    return found.group(1)


async def activated_to_the_cgu(
    identity: FastAPI, portal: httpx.AsyncClient, account: str
) -> httpx.Response:
    """Activation link → password → the CGU page (not answered)."""
    token = httpx.URL(await activation_url(identity, account)).params["token"]
    page = await portal.get(f"/activation?token={token}")
    activated = await portal.post(
        "/activation",
        data={
            "csrf_token": csrf_of(page.text),
            "token": token,
            "mot_de_passe": PASSWORD,
            "confirmation": PASSWORD,
        },
    )
    assert activated.status_code == 303, activated.text
    return await portal.get("/cgu")


async def test_a_signed_in_person_sees_their_declaration_exports_it_and_revokes_it(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    to_consent = LateAsgiTransport()
    consent_http = httpx.AsyncClient(transport=to_consent, base_url="http://consent.test")
    identity = create_app(
        identity_settings(tmp_path / "identity", bus_prefix), consent_http=consent_http
    )
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
    to_consent.app = consent
    async with (
        consent_http,
        running(identity) as portal,
        running(consent) as consent_api,
    ):
        await ready_bucket(consent)
        office = {"Authorization": f"Bearer {await office_token(identity, portal)}"}
        today = consent.state.runtime.clock.now().date()
        body, content_type = multipart_body(natural_declaration(today), NATURAL_FILES)
        created = await consent_api.post(
            "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
        )
        assert created.status_code == 201, created.text
        declaration_id = created.json()["id"]
        registry = registry_of(consent)

        async def linked() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["account_id"] is not None

        await eventually(linked, within=20)
        document = await registry.get(declaration_id)
        assert document is not None
        validated = await activate_on_the_portal(identity, portal, str(document["account_id"]))
        # Consent recorded that the person validated THAT content, with its event.
        document = await registry.get(declaration_id)
        assert document is not None
        assert document["validated_hash"] == validated

        async def shown_in_force() -> bool:
            page = await portal.get("/consentement")
            assert page.status_code == 200, page.text
            return "En vigueur" in page.text

        await eventually(shown_in_force, within=20)
        account = await portal.get("/compte")
        assert 'href="/consentement"' in account.text

        export = await portal.get("/donnees/export.json")
        assert export.status_code == 200
        assert export.headers["content-disposition"] == 'attachment; filename="mes-donnees.json"'
        assert export.json()["declaration"]["id"] == declaration_id
        assert len(export.json()["proofs"]) == len(NATURAL_FILES)
        mine = await portal.get("/donnees/compte.json")
        assert mine.status_code == 200
        assert mine.headers["content-disposition"] == 'attachment; filename="mon-compte.json"'
        assert mine.json()["account"]["account_id"] == document["account_id"]
        assert mine.json()["account"]["declaration_id"] == declaration_id

        # A restriction request from the portal, answered by an operator through consent's API.
        data_page = await portal.get("/donnees")
        requested = await portal.post(
            "/donnees/demandes",
            data={
                "csrf_token": csrf_of(data_page.text),
                "type_demande": "restriction",
                "motif": "Merci de limiter le traitement pendant ma contestation.",
            },
        )
        assert requested.status_code == 303, requested.text
        operator = {"Authorization": f"Bearer {await operator_token(identity, portal, 'OPS1')}"}
        queue = await consent_api.get("/v1/restriction-requests", headers=operator)
        assert queue.status_code == 200, queue.text
        [open_request] = queue.json()["requests"]
        assert open_request["declaration_id"] == declaration_id
        answered = await consent_api.post(
            f"/v1/restriction-requests/{open_request['id']}/answer",
            json={"outcome": "granted", "reason": "Traitement limité jusqu'à la décision."},
            headers=operator,
        )
        assert answered.status_code == 200, answered.text
        shown = await portal.get("/donnees")
        assert "Acceptée le" in shown.text
        assert "Traitement limité jusqu&#39;à la décision." in shown.text

        page = await portal.get("/consentement")
        revoked = await portal.post(
            "/consentement/revocation",
            data={"csrf_token": csrf_of(page.text), "confirmation_revocation": "oui"},
        )
        assert revoked.status_code == 303, revoked.text
        confirmation = await portal.get(revoked.headers["location"])
        assert confirmation.status_code == 200
        assert "pas rétroactive" in confirmation.text

        lookup = await consent_api.post("/v1/registry/search", json=LOOKUP, headers=office)
        assert lookup.json()["status"] == "revoked"
        after = await portal.get("/consentement")
        assert 'action="/consentement/revocation"' not in after.text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_consent_page_is_a_polite_503_when_consent_is_down(
    tmp_path: Path, bus_prefix: str
) -> None:
    settings = identity_settings(
        tmp_path, bus_prefix, consent_url=f"http://127.0.0.1:{_closed_port()}"
    )
    identity = create_app(settings)
    async with running(identity) as portal:
        await set_password_on_the_portal(
            identity, portal, await declare(identity, "decl-sans-consent")
        )
        # The CGU page shows the declaration to answer: without consent, a polite 503 and no
        # acceptance possible.
        page = await portal.get("/cgu")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "60"
    assert "Service momentanément indisponible" in page.text


async def test_decret_2021_1625_art_21_the_person_refuses_a_wrong_declaration_on_the_cgu_page(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    to_consent = LateAsgiTransport()
    consent_http = httpx.AsyncClient(transport=to_consent, base_url="http://consent.test")
    identity = create_app(
        identity_settings(tmp_path / "identity", bus_prefix), consent_http=consent_http
    )
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
    to_consent.app = consent
    async with (
        consent_http,
        running(identity) as portal,
        running(consent) as consent_api,
    ):
        await ready_bucket(consent)
        office = {"Authorization": f"Bearer {await office_token(identity, portal)}"}
        today = consent.state.runtime.clock.now().date()
        body, content_type = multipart_body(natural_declaration(today), NATURAL_FILES)
        created = await consent_api.post(
            "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
        )
        assert created.status_code == 201, created.text
        declaration_id = created.json()["id"]
        registry = registry_of(consent)

        async def linked() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["account_id"] is not None

        await eventually(linked, within=20)
        document = await registry.get(declaration_id)
        assert document is not None
        cgu = await activated_to_the_cgu(identity, portal, str(document["account_id"]))
        # The declaration as registered, and the four articles, on the page the person answers.
        text = " ".join(cgu.text.split())
        assert "Votre déclaration de consentement" in text
        for article in ("653", "662-1", "663", "664-1"):
            assert f"Article {article}" in text
        assert "La date et l&#39;heure de la signification par voie électronique sont" in text
        assert 'href="/cgu/declaration/refus"' in text

        form = await portal.get("/cgu/declaration/refus")
        assert form.status_code == 200, form.text
        missing = await portal.post(
            "/cgu/declaration/refus",
            data={"csrf_token": csrf_of(form.text), "declaration": declaration_hash_of(form.text)},
        )
        assert missing.status_code == 422
        reason = "Je suis née à Lyon, pas à Lille."
        refused = await portal.post(
            "/cgu/declaration/refus",
            data={
                "csrf_token": csrf_of(form.text),
                "declaration": declaration_hash_of(form.text),
                "parties": ["identity", "duration"],
                "motif": reason,
            },
        )
        assert refused.status_code == 303, refused.text
        after = await portal.get(refused.headers["location"])
        assert 'id="declaration-refusee"' in after.text
        assert 'action="/cgu/acceptation"' not in after.text
        document = await registry.get(declaration_id)
        assert document is not None
        assert document["status"] == "refused"
        assert document["contestation"]["reason"] == reason
        assert document["contestation"]["parts"] == ["identity", "duration"]
        # The office reads the person's words with its declaration.
        seen = await consent_api.get(f"/v1/declarations/{declaration_id}", headers=office)
        assert seen.json()["contestation"]["reason"] == reason
        lookup = await consent_api.post("/v1/registry/search", json=LOOKUP, headers=office)
        assert lookup.json().get("status") != "active"
