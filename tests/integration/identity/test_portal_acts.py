"""The portal's acts pages inside the real identity app, calling the real delivery app (SQLite
stores, SeaweedFS, RabbitMQ under a test prefix), delivery verifying identity's own tokens: a
person signed in on the portal sees an act served on them, reads its page without it counting,
downloads it (delivery records the prise de connaissance) and replies through the portal."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from identity.main import create_app
from identity.service import Identity
from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import SystemClock
from shared.runtime import ServiceRuntime
from tests.fixtures.seaweed import S3Server
from tests.integration.delivery.test_delivery_service import (
    PARIS_TUESDAY_10H,
    give_consent,
    offset_to,
    ready,
)
from tests.integration.delivery.test_delivery_service import settings as delivery_settings
from tests.integration.identity.support import ConsentStandIn, declare, identity_settings
from tests.integration.identity.test_portal_consent import (
    LateAsgiTransport,
    activate_on_the_portal,
    csrf_of,
)
from tests.support.consent_registry import delivery_on_events as delivery_app
from tests.support.services import running
from tests.unit.delivery.support import metadata, multipart, pdf

DECLARATION = "decl-actes"


def verifying_identity(identity_app: FastAPI) -> TokenVerifier:
    """Delivery's verifier on identity's key set, read in process (no HTTP hop)."""
    identity: Identity = identity_app.state.identity
    issuer = identity.ctx.settings.issuer

    def serve_jwks(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=identity.ctx.issuer.jwks())

    config = VerifierConfig(
        jwks_url=f"{issuer}/.well-known/jwks.json",
        issuer=issuer,
        audiences=frozenset({"delivery"}),
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(serve_jwks))
    return TokenVerifier(config, http, SystemClock())


@dataclass
class Stack:
    identity: FastAPI
    portal: httpx.AsyncClient
    delivery: FastAPI
    delivery_api: httpx.AsyncClient
    act_id: str
    document: bytes


@asynccontextmanager
async def served_act(tmp_path: Path, bus_prefix: str, s3: S3Server) -> AsyncIterator[Stack]:
    """Identity and delivery running; a recipient signed in on the portal; an act served on
    them by an office (a Tuesday at 10:00 in Paris on delivery's clock)."""
    to_delivery = LateAsgiTransport()
    delivery_http = httpx.AsyncClient(transport=to_delivery, base_url="http://delivery.test")
    identity = create_app(
        identity_settings(tmp_path / "identity", bus_prefix),
        delivery_http=delivery_http,
        consent_http=ConsentStandIn().client(),
    )
    delivery = delivery_app(
        delivery_settings(
            tmp_path / "delivery",
            bus_prefix,
            s3,
            clock_offset_seconds=offset_to(PARIS_TUESDAY_10H),
        ),
        token_verifier=verifying_identity(identity),
    )
    to_delivery.app = delivery
    document = pdf(300_000)
    async with delivery_http, running(identity) as portal, running(delivery) as delivery_api:
        account_id = await declare(identity, DECLARATION)
        await activate_on_the_portal(identity, portal, account_id)
        await give_consent(bus_prefix, DECLARATION, account_id)
        await ready(delivery, DECLARATION)
        service: Identity = identity.state.identity
        office = service.ctx.issuer.issue(
            "client-etude-1",
            role="office",
            scopes=frozenset({"acts:write", "acts:read"}),
            office_id="etude-1",
            extra={"aud": ["delivery"], "bailiff_name": "Me Essai"},
        )
        body, content_type = multipart(metadata(DECLARATION), document)
        deposited = await delivery_api.post(
            "/v1/acts",
            content=body,
            headers={
                "Content-Type": content_type,
                "Idempotency-Key": "portail-1",
                "Authorization": f"Bearer {office.token}",
            },
        )
        assert deposited.status_code == 201, deposited.text
        yield Stack(identity, portal, delivery, delivery_api, deposited.json()["id"], document)


async def handed_over_at(stack: Stack) -> str | None:
    runtime: ServiceRuntime = stack.delivery.state.runtime
    act = await runtime.store.get("acts", stack.act_id)
    assert act is not None
    return act["handed_over_at"]  # type: ignore[no-any-return]


async def test_a_served_act_is_listed_its_page_does_not_count_and_its_download_does(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with served_act(tmp_path, bus_prefix, s3_server) as stack:
        portal = stack.portal
        account = await portal.get("/compte")
        assert 'href="/actes"' in account.text

        listing = await portal.get("/actes")
        assert listing.status_code == 200, listing.text
        assert f'href="/actes/{stack.act_id}"' in listing.text
        assert "SCI Les Tilleuls" in listing.text
        assert "8 avril 2031 à 10 h 00 (heure légale de Paris)" in listing.text
        assert "<strong>Non lu</strong>" in listing.text

        page = await portal.get(f"/actes/{stack.act_id}")
        assert page.status_code == 200, page.text
        assert "Consulter cette page ne vaut pas prise de connaissance" in page.text
        assert "Dépôt de l&#39;acte sur la plateforme" in page.text
        assert await handed_over_at(stack) is None

        download = await portal.get(f"/actes/{stack.act_id}/contenu")
        assert download.status_code == 200
        assert download.content == stack.document
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == (
            f'attachment; filename="acte-{stack.act_id}.pdf"'
        )
        assert await handed_over_at(stack) is not None

        after = await portal.get(f"/actes/{stack.act_id}")
        assert "Prise de connaissance (première ouverture du document)" in after.text
        assert "le document n'a jamais été ouvert" not in after.text
        relisted = await portal.get("/actes")
        assert "Non lu" not in relisted.text


async def test_a_reply_goes_through_the_portal_to_delivery_and_a_refusal_comes_back(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with served_act(tmp_path, bus_prefix, s3_server) as stack:
        page = await stack.portal.get(f"/actes/{stack.act_id}")
        csrf = csrf_of(page.text)
        sent = await stack.portal.post(
            f"/actes/{stack.act_id}/reponses",
            data={"csrf_token": csrf},
            files={"fichier": ("reponse.pdf", pdf(2000, seed=b"reply"), "application/pdf")},
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"/actes/{stack.act_id}?info=reponse-deposee"
        runtime: ServiceRuntime = stack.delivery.state.runtime
        assert await runtime.store.count("replies") == 1

        renamed = await stack.portal.post(
            f"/actes/{stack.act_id}/reponses",
            data={"csrf_token": csrf},
            files={"fichier": ("photo.pdf", b"GIF89a" + bytes(500), "application/pdf")},
        )
        assert renamed.status_code == 422, renamed.text
        assert "envoyez un document PDF ou une image JPEG" in renamed.text
        assert await runtime.store.count("replies") == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_acts_pages_are_a_polite_503_when_delivery_is_down(
    tmp_path: Path, bus_prefix: str
) -> None:
    settings = identity_settings(
        tmp_path, bus_prefix, delivery_url=f"http://127.0.0.1:{_closed_port()}"
    )
    identity = create_app(settings, consent_http=ConsentStandIn().client())
    async with running(identity) as portal:
        await activate_on_the_portal(identity, portal, await declare(identity, "decl-sans-acte"))
        page = await portal.get("/actes")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "60"
    assert "Service momentanément indisponible" in page.text
