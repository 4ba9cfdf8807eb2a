"""Décret 2021-1625 art. 21 on the CGU page: the person sees the declaration the office
registered (identity, natures, duration, revocation, CPC 653, 662-1, 663, 664-1) and the
acceptance validates THAT content at consent (a recording stand-in here); a wrong declaration
is refused with the person's reasons; consent away means no acceptance."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from identity.portal import portal_router
from tests.integration.identity.support import ConsentStandIn
from tests.unit.identity.support import Rig
from tests.unit.identity.test_portal_helpers import BASE_URL, activate, csrf_of


class RecordingConsent(ConsentStandIn):
    def __init__(self) -> None:
        super().__init__()
        self.contested: list[dict[str, object]] = []
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.method == "POST" and request.url.path == "/v1/me/declaration/contestation":
            self.contested.append(json.loads(request.content))
            return httpx.Response(200, json={**self.statement(), "status": "refused"})
        return super().handle(request)


@asynccontextmanager
async def browser(rig: Rig, consent: RecordingConsent) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(portal_router(rig.identity, consent_http=consent.client()))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def test_decret_2021_1625_art_21_the_cgu_page_shows_the_declaration_and_cpc_articles(
    rig: Rig,
) -> None:
    consent = RecordingConsent()
    async with browser(rig, consent) as client:
        await activate(rig, client)
        page = await client.get("/cgu")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "Votre déclaration de consentement" in text
    assert "QUENNEVILLE" in text
    assert "Significations de jugements et autres décisions" in text
    assert "sans limite de durée" in text
    assert "Depuis votre espace, à tout moment." in text
    for article in ("653", "662-1", "663", "664-1"):
        assert f"Article {article}" in text
    assert "Article 653 (extrait)" in text
    assert "Article 664-1 (extrait)" not in text
    assert f'name="declaration" value="{ConsentStandIn.CONTENT_HASH}"' in text
    assert "je valide ma déclaration" in text


async def test_the_acceptance_validates_the_declaration_content_shown_before_the_cgu(
    rig: Rig,
) -> None:
    consent = RecordingConsent()
    async with browser(rig, consent) as client:
        account_id = await activate(rig, client)
        page = await client.get("/cgu")
        stale = await client.post(
            "/cgu/acceptation",
            data={"csrf_token": csrf_of(page.text), "version": "1", "declaration": "1" * 64},
        )
        assert stale.headers["location"] == "/cgu?info=declaration-modifiee"
        assert await rig.payloads("identity.terms-accepted.v1") == []
        accepted = await client.post(
            "/cgu/acceptation",
            data={
                "csrf_token": csrf_of(page.text),
                "version": "1",
                "declaration": ConsentStandIn.CONTENT_HASH,
            },
        )
    assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
    assert consent.validated == [ConsentStandIn.CONTENT_HASH]
    [event] = await rig.payloads("identity.terms-accepted.v1")
    assert event["account_id"] == account_id


async def test_the_person_refuses_a_wrong_declaration_saying_why(rig: Rig) -> None:
    consent = RecordingConsent()
    async with browser(rig, consent) as client:
        await activate(rig, client)
        form = await client.get("/cgu/declaration/refus")
        assert form.status_code == 200
        empty = await client.post(
            "/cgu/declaration/refus",
            data={"csrf_token": csrf_of(form.text), "declaration": ConsentStandIn.CONTENT_HASH},
        )
        assert empty.status_code == 422
        assert consent.contested == []
        refused = await client.post(
            "/cgu/declaration/refus",
            data={
                "csrf_token": csrf_of(form.text),
                "declaration": ConsentStandIn.CONTENT_HASH,
                "parties": ["natures", "bogus"],
                "motif": "Je n'ai jamais accepté les saisies-attributions.",
            },
        )
    assert refused.status_code == 303
    assert consent.contested == [
        {
            "content_hash": ConsentStandIn.CONTENT_HASH,
            "parts": ["natures"],
            "reason": "Je n'ai jamais accepté les saisies-attributions.",
        }
    ]
    assert await rig.payloads("identity.terms-accepted.v1") == []


async def test_no_acceptance_without_consent_answering(rig: Rig) -> None:
    consent = RecordingConsent()
    async with browser(rig, consent) as client:
        await activate(rig, client)
        page = await client.get("/cgu")
        consent.down = True
        down = await client.get("/cgu")
        accepted = await client.post(
            "/cgu/acceptation",
            data={
                "csrf_token": csrf_of(page.text),
                "version": "1",
                "declaration": ConsentStandIn.CONTENT_HASH,
            },
        )
    assert down.status_code == 503
    assert accepted.status_code == 503
    assert await rig.payloads("identity.terms-accepted.v1") == []
