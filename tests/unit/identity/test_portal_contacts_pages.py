"""The portal's "Mes coordonnées" pages on the unit rig's identity, with consent played by a
recording fake (`httpx.MockTransport`): the e-mail change confirmed from the link's page, the
mobile, and the domicile form sent on to consent with its proof file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from identity.portal import portal_router
from identity.portal.consent_pages import consent_pages_router
from identity.portal.contacts_pages import contacts_pages_router
from tests.unit.identity.support import PASSWORD, Rig, token_of
from tests.unit.identity.test_portal_consent_pages import (
    CONSENT_URL,
    PDF,
    FakeConsent,
    declaration_view,
)
from tests.unit.identity.test_portal_helpers import (
    BASE_URL,
    accessibility_problems,
    csrf_of,
    signed_in_recipient,
    submit,
)

NEW = "alix.nouvelle@example.net"


class DomicileConsent(FakeConsent):
    """The fake, answering `POST /v1/me/domicile` as consent does (and recording the parts)."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/me/domicile":
            self.requests.append(request)
            account_id = self.subject_of(request)
            body = request.content
            if b"75011" not in body:
                return httpx.Response(
                    422,
                    json={
                        "errors": [
                            {"loc": ["proof", "issued_on"], "msg": "too old", "type": "rule"}
                        ]
                    },
                )
            view = self.declarations[account_id]
            view["person"]["domicile"] = {
                "adresse": "3 rue Neuve",
                "code_postal": "75011",
                "commune": "Paris",
            }
            view["contact_changes"] = [
                {"kind": "domicile", "at": "2031-03-04T10:00:00+00:00", "territory": "metropole"}
            ]
            return httpx.Response(200, json=view)
        return super().handle(request)


@asynccontextmanager
async def browser(rig: Rig, consent: FakeConsent) -> AsyncIterator[httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(consent.handle), base_url=CONSENT_URL)
    app = FastAPI()
    app.include_router(portal_router(rig.identity))
    app.include_router(consent_pages_router(rig.identity, http))
    app.include_router(contacts_pages_router(rig.identity, http))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with http, httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def _view(account_id: str) -> dict[str, Any]:
    view = declaration_view(account_id)
    view["person"] = {
        "kind": "natural",
        "nom": "Durand",
        "prenoms": "Alix",
        "domicile": {"adresse": "1 rue Vieille", "code_postal": "97110", "commune": "Pointe"},
    }
    view["territory"] = "guadeloupe"
    return view


async def test_the_email_change_is_confirmed_from_the_page_of_the_link(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        consent.declarations[account_id] = _view(account_id)
        page = await client.get("/donnees/coordonnees")
        assert page.status_code == 200, page.text
        assert accessibility_problems(page.text) == []
        assert "Guadeloupe" in page.text
        asked = await client.post(
            "/donnees/coordonnees/courriel",
            data={
                "csrf_token": csrf_of(page.text),
                "nouvelle_adresse": NEW,
                "mot_de_passe": PASSWORD,
            },
        )
        assert asked.status_code == 303
        pending = await client.get(asked.headers["location"])
        assert NEW in pending.text
        assert "heure légale de la Guadeloupe" in pending.text

        [requested] = await rig.payloads("identity.email-change-requested.v1")
        url = await rig.link_url(requested)
        token = token_of(url)
        # Opening the link (a mail scanner may) spends nothing.
        shown = await client.get(f"/donnees/courriel/confirmation?token={token}")
        assert shown.status_code == 200
        assert NEW in shown.text
        assert await rig.payloads("identity.email-changed.v1") == []
        done = await client.post(
            "/donnees/courriel/confirmation",
            data={"csrf_token": csrf_of(shown.text), "token": token},
        )
        assert done.status_code == 200
        assert 'id="adresse-confirmee"' in done.text
        again = await client.get(f"/donnees/courriel/confirmation?token={token}")
    assert again.status_code == 410
    [changed] = await rig.payloads("identity.email-changed.v1")
    assert changed["email"] == NEW


async def test_a_wrong_password_is_said_next_to_its_field(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        consent.declarations[account_id] = _view(account_id)
        refused = await submit(
            client,
            "/donnees/coordonnees",
            "/donnees/coordonnees/courriel",
            {"nouvelle_adresse": NEW, "mot_de_passe": "pas-le-bon"},
        )
    assert refused.status_code == 422
    assert 'id="mot_de_passe-erreur"' in refused.text
    assert await rig.payloads("identity.email-change-requested.v1") == []


async def test_the_mobile_form_records_the_number_in_e164_with_its_overseas_code(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        consent.declarations[account_id] = _view(account_id)
        done = await submit(
            client,
            "/donnees/coordonnees",
            "/donnees/coordonnees/mobile",
            {"mobile": "0690 12 34 56"},
        )
        assert done.status_code == 303
        page = await client.get(done.headers["location"])
    assert "+590690123456" in page.text
    [changed] = await rig.payloads("identity.mobile-changed.v1")
    assert changed["mobile"] == "+590690123456"


async def test_the_domicile_form_sends_the_address_and_its_proof_to_consent(rig: Rig) -> None:
    consent = DomicileConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        consent.declarations[account_id] = _view(account_id)
        page = await client.get("/donnees/coordonnees")
        form = {
            "csrf_token": csrf_of(page.text),
            "adresse": "3 rue Neuve",
            "code_postal": "75011",
            "commune": "Paris",
            "date_justificatif": "2031-02-20",
        }
        done = await client.post(
            "/donnees/coordonnees/domicile",
            data=form,
            files={"justificatif": ("facture.pdf", PDF, "application/pdf")},
        )
        assert done.status_code == 303, done.text
        shown = await client.get(done.headers["location"])
        refused = await client.post(
            "/donnees/coordonnees/domicile",
            data={**form, "code_postal": "69003"},
            files={"justificatif": ("facture.pdf", PDF, "application/pdf")},
        )
    [sent, _again] = [r for r in consent.requests if r.url.path == "/v1/me/domicile"]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert PDF in sent.content
    part = sent.content.split(b'name="domicile"')[1].split(b"\r\n\r\n", 1)[1].split(b"\r\n--")[0]
    assert json.loads(part) == {
        "address": {"adresse": "3 rue Neuve", "code_postal": "75011", "commune": "Paris"},
        "proof": {"type": "justificatif_domicile", "issued_on": "2031-02-20"},
    }
    assert "France métropolitaine" in shown.text
    assert "Domicile : le" in shown.text
    assert refused.status_code == 422
    assert 'id="date_justificatif-erreur"' in refused.text


async def test_the_domicile_form_without_a_file_is_refused_before_consent(rig: Rig) -> None:
    consent = DomicileConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        consent.declarations[account_id] = _view(account_id)
        refused = await submit(
            client,
            "/donnees/coordonnees",
            "/donnees/coordonnees/domicile",
            {"adresse": "", "code_postal": "7501", "commune": "", "date_justificatif": ""},
        )
    assert refused.status_code == 422
    for name in ("adresse", "code_postal", "commune", "justificatif"):
        assert f'id="{name}-erreur"' in refused.text
    assert all(r.url.path != "/v1/me/domicile" for r in consent.requests)
