"""The portal's "Mon consentement" and "Mes données" pages on the unit rig's identity, with
consent played by a recording fake behind `httpx.MockTransport`: what the pages show, what they
send to consent (and with which token), and what they do when consent is away."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from identity.portal import portal_router
from identity.portal.consent_pages import consent_pages_router
from shared.auth import TokenError
from tests.unit.identity.support import PASSWORD, Rig, plain_verifier
from tests.unit.identity.test_portal_helpers import (
    BASE_URL,
    accessibility_problems,
    activate,
    csrf_of,
    outline,
    signed_in_recipient,
    submit,
)

CONSENT_URL = "http://consent.test"
PDF = b"%PDF-1.7\n% a proof\n%%EOF\n"


def declaration_view(account_id: str, status: str = "active") -> dict[str, Any]:
    history = [
        {"status": "registered", "at": "2031-03-01T10:00:00+00:00", "cause": "registration"},
        {"status": "active", "at": "2031-03-04T08:30:00+00:00", "cause": "terms accepted"},
    ]
    if status == "revoked":
        history.append({"status": "revoked", "at": "2031-03-04T09:15:00+00:00", "cause": "revoked"})
    return {
        "id": "decl-1",
        "status": status,
        "person_kind": "natural",
        "person": {"nom": "Durand", "prenoms": "Alix"},
        "scope": ["commandement_payer", "assignation"],
        "valid_until": "2032-12-31",
        "territory": "metropole",
        "revocation_modalities": "Depuis votre espace, ou par lettre à l'étude Demo.",
        "office_id": "etude-1",
        "registered_at": "2031-03-01T10:00:00+00:00",
        "account_id": account_id,
        "history": history,
        "purged_at": None,
        "proofs": [
            {
                "id": "proof-1",
                "type": "carte_identite",
                "issued_on": "2025-06-01",
                "media_type": "application/pdf",
                "download": "/v1/me/proofs/proof-1",
            }
        ],
    }


@dataclass
class FakeConsent:
    """Consent's `/v1/me` API as the pages use it, recording every request."""

    declarations: dict[str, dict[str, Any]] = field(default_factory=dict)
    restriction_requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        account_id = self.subject_of(request)
        mine = self.declarations.get(account_id)
        path = request.url.path
        if mine is None:
            return httpx.Response(404, json={"title": "Not found"})
        if request.method == "GET" and path == "/v1/me/declaration":
            return httpx.Response(200, json=mine)
        if request.method == "POST" and path == "/v1/me/declaration/revocation":
            if json.loads(request.content) != {"confirmation": True}:
                return httpx.Response(422, json={"title": "Unprocessable"})
            if mine["status"] not in ("registered", "active"):
                return httpx.Response(409, json={"declaration_status": mine["status"]})
            self.declarations[account_id] = declaration_view(account_id, "revoked")
            return httpx.Response(200, json=self.declarations[account_id])
        if request.method == "GET" and path == "/v1/me/export":
            return httpx.Response(
                200,
                json={"declaration": mine, "proofs": []},
                headers={"Content-Disposition": 'attachment; filename="mes-donnees.json"'},
            )
        if path == "/v1/me/restriction-requests":
            mine_requests = self.restriction_requests.setdefault(account_id, [])
            if request.method == "GET":
                return httpx.Response(200, json={"requests": mine_requests})
            body = json.loads(request.content)
            recorded = {
                "id": f"req-{len(mine_requests) + 1}",
                **body,
                "requested_at": "2031-03-05T09:00:00+00:00",
                "state": "open",
            }
            mine_requests.append(recorded)
            return httpx.Response(201, json={"id": recorded["id"], "state": "open"})
        if request.method == "GET" and path == "/v1/me/proofs/proof-1":
            return httpx.Response(200, content=PDF, headers={"Content-Type": "application/pdf"})
        return httpx.Response(404, json={"title": "Not found"})

    @staticmethod
    def subject_of(request: httpx.Request) -> str:
        # Unverified here: the test checks the token's signature and claims separately.
        token = request.headers["authorization"].removeprefix("Bearer ")
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["sub"])

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


@asynccontextmanager
async def browser(rig: Rig, consent: FakeConsent) -> AsyncIterator[httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(consent.handle), base_url=CONSENT_URL)
    app = FastAPI()
    app.include_router(portal_router(rig.identity))
    app.include_router(consent_pages_router(rig.identity, http))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with http, httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def declared_recipient(
    rig: Rig, client: httpx.AsyncClient, consent: FakeConsent, status: str = "active"
) -> str:
    account_id = await signed_in_recipient(rig, client)
    consent.declarations[account_id] = declaration_view(account_id, status)
    return account_id


async def test_the_consent_page_shows_scope_duration_status_history_and_modalities(
    rig: Rig,
) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        page = await client.get("/consentement")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Mon consentement</h1>" in text
    assert "Alix Durand" in text
    assert "En vigueur" in text
    assert "Commandements de payer" in text
    assert "Assignations" in text
    assert "Saisies-attributions" not in text
    assert "jusqu'au 31 décembre 2032 inclus" in text
    assert "Déclaration enregistrée par le commissaire de justice" in text
    # 08:30 UTC is 9 h 30 in Paris in March (winter time).
    assert "4 mars 2031 à 9 h 30 (heure de Paris)" in text
    assert "par lettre à l&#39;étude Demo" in text
    assert 'href="/donnees/justificatifs/proof-1"' in text
    assert 'action="/consentement/revocation"' in text
    assert accessibility_problems(text) == []
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_consent_is_called_with_a_short_lived_consent_token_the_browser_never_sees(
    rig: Rig,
) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await declared_recipient(rig, client, consent)
        page = await client.get("/consentement")
    [call] = consent.requests
    token = call.headers["authorization"].removeprefix("Bearer ")
    principal = await plain_verifier(rig, "consent").verify(token)
    assert principal.subject == account_id
    assert principal.role == "recipient"
    assert principal.sid is not None
    assert principal.expires_at - principal.issued_at <= rig.issuer.ttl
    # Audience consent only: the same token is refused by identity itself.
    with pytest.raises(TokenError):
        await plain_verifier(rig, "identity").verify(token)
    assert token not in page.text
    assert all(token not in value for value in page.headers.values())


async def test_revocation_without_the_confirmation_box_is_refused_next_to_it(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        refused = await submit(client, "/consentement", "/consentement/revocation", {})
    assert refused.status_code == 422
    assert "Cochez la case pour confirmer la révocation." in refused.text
    assert outline(refused.text).summary_links == ["confirmation_revocation"]
    assert accessibility_problems(refused.text) == []
    assert ("POST", "/v1/me/declaration/revocation") not in consent.calls()


async def test_revocation_with_confirmation_revokes_at_consent_and_says_it_is_not_retroactive(
    rig: Rig,
) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await declared_recipient(rig, client, consent)
        done = await submit(
            client, "/consentement", "/consentement/revocation", {"confirmation_revocation": "oui"}
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/consentement/revocation-confirmee"
        confirmation = await client.get(done.headers["location"])
        again = await client.get("/consentement")
    [revocation] = [r for r in consent.requests if r.method == "POST"]
    assert json.loads(revocation.content) == {"confirmation": True}
    assert consent.declarations[account_id]["status"] == "revoked"
    assert confirmation.status_code == 200
    assert "Votre consentement est révoqué" in confirmation.text
    assert "<strong>immédiatement</strong>" in confirmation.text
    assert "<strong>pas rétroactive</strong>" in confirmation.text
    assert "4 mars 2031 à 10 h 15" in confirmation.text
    assert accessibility_problems(confirmation.text) == []
    # Revoked: the page shows the status and history, and no revocation form any more.
    assert "Révoqué" in again.text
    assert "Consentement révoqué" in again.text
    assert 'action="/consentement/revocation"' not in again.text


async def test_a_forged_revocation_is_refused_without_calling_consent(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        forged = await client.post(
            "/consentement/revocation",
            data={"confirmation_revocation": "oui", "csrf_token": "x" * 43},
        )
    assert forged.status_code == 403
    assert consent.requests == []


async def test_an_already_ended_consent_has_no_form_and_a_late_revocation_gets_409(
    rig: Rig,
) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent, status="expired")
        page = await client.get("/consentement")
        late = await client.post(
            "/consentement/revocation",
            data={"confirmation_revocation": "oui", "csrf_token": csrf_of(page.text)},
        )
        not_revoked = await client.get("/consentement/revocation-confirmee")
    assert "Expiré" in page.text
    assert 'action="/consentement/revocation"' not in page.text
    assert late.status_code == 409
    assert "n&#39;est plus en vigueur (expiré" in late.text
    assert not_revoked.headers["location"] == "/consentement"


async def test_consent_unreachable_gives_a_polite_503_page(rig: Rig) -> None:
    consent = FakeConsent(down=True)
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        page = await client.get("/consentement")
        export = await client.get("/donnees/export.json")
        revocation = await client.post(
            "/consentement/revocation",
            data={"confirmation_revocation": "oui", "csrf_token": csrf_of(page.text)},
        )
        data_page = await client.get("/donnees")
        request = await client.post(
            "/donnees/demandes",
            data={"type_demande": "objection", "motif": "x", "csrf_token": csrf_of(page.text)},
        )
    for response in (page, export, revocation, data_page, request):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "60"
        assert response.headers["cache-control"] == "no-store"
        assert "Service momentanément indisponible" in response.text
        assert "réessayez dans quelques minutes" in response.text
    assert accessibility_problems(page.text) == []


async def test_an_unexpected_answer_from_consent_is_not_shown_as_a_declaration(
    rig: Rig,
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Internal Server Error")

    consent = FakeConsent()
    consent.handle = broken  # type: ignore[method-assign]
    async with browser(rig, consent) as client:
        await signed_in_recipient(rig, client)
        page = await client.get("/consentement")
    assert page.status_code == 503
    assert "Internal Server Error" not in page.text


async def test_no_linked_declaration_says_so(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await signed_in_recipient(rig, client)
        page = await client.get("/consentement")
        export = await client.get("/donnees/export.json")
    assert page.status_code == 404
    assert "Aucune déclaration de consentement n&#39;est liée à votre compte" in page.text
    assert export.status_code == 404
    assert accessibility_problems(page.text) == []


async def test_the_data_page_explains_the_export_and_links_the_download(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        page = await client.get("/donnees")
    assert page.status_code == 200
    assert "<h1>Mes données</h1>" in page.text
    assert "portabilité" in page.text
    assert 'href="/donnees/export.json"' in page.text
    assert accessibility_problems(page.text) == []
    # Only the person's own requests are asked of consent.
    assert consent.calls() == [("GET", "/v1/me/restriction-requests")]
    assert 'action="/donnees/demandes"' in page.text


async def test_a_restriction_request_goes_to_consent_and_its_answer_is_shown(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await declared_recipient(rig, client, consent)
        done = await submit(
            client,
            "/donnees",
            "/donnees/demandes",
            {"type_demande": "objection", "motif": "  Je m'oppose à ce traitement.  "},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/donnees?info=demande-enregistree"
        recorded = await client.get(done.headers["location"])
        consent.restriction_requests[account_id][0] |= {
            "state": "refused",
            "reason": "Le registre est prévu par la loi.",
            "answered_at": "2031-03-06T09:00:00+00:00",
        }
        answered = await client.get("/donnees")
    [posted] = [r for r in consent.requests if r.method == "POST"]
    assert json.loads(posted.content) == {
        "kind": "objection",
        "text": "Je m'oppose à ce traitement.",
    }
    assert "Votre demande est enregistrée." in recorded.text
    assert "Opposition au traitement (article 21 du RGPD)" in recorded.text
    assert "En attente de réponse" in recorded.text
    assert "Refusée le 6 mars 2031" in answered.text
    assert "Le registre est prévu par la loi." in answered.text
    assert accessibility_problems(answered.text) == []


async def test_an_incomplete_request_is_refused_next_to_its_fields(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        empty = await submit(client, "/donnees", "/donnees/demandes", {"motif": "   "})
        unknown = await submit(
            client, "/donnees", "/donnees/demandes", {"type_demande": "effacement", "motif": "x"}
        )
        too_long = await submit(
            client,
            "/donnees",
            "/donnees/demandes",
            {"type_demande": "restriction", "motif": "é" * 4001},
        )
    assert empty.status_code == 422
    assert outline(empty.text).summary_links == ["type_demande", "motif"]
    assert accessibility_problems(empty.text) == []
    assert unknown.status_code == 422
    assert outline(unknown.text).summary_links == ["type_demande"]
    assert ">x</textarea>" in unknown.text  # what was typed is kept
    assert too_long.status_code == 422
    assert "dépasse 4000 caractères" in too_long.text
    assert ("POST", "/v1/me/restriction-requests") not in consent.calls()


async def test_a_forged_request_is_refused_without_calling_consent(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        forged = await client.post(
            "/donnees/demandes",
            data={"type_demande": "objection", "motif": "x", "csrf_token": "x" * 43},
        )
    assert forged.status_code == 403
    assert consent.requests == []


async def test_the_export_streams_consents_json_as_an_attachment(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await declared_recipient(rig, client, consent)
        export = await client.get("/donnees/export.json")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/json")
    assert export.headers["content-disposition"] == 'attachment; filename="mes-donnees.json"'
    assert export.headers["cache-control"] == "no-store"
    assert export.json()["declaration"]["account_id"] == account_id
    assert consent.calls()[-1] == ("GET", "/v1/me/export")


async def test_a_proof_downloads_as_its_file_and_odd_ids_never_reach_consent(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        proof = await client.get("/donnees/justificatifs/proof-1")
        odd = await client.get("/donnees/justificatifs/..%2Fexport")
        unknown = await client.get("/donnees/justificatifs/proof-9")
    assert proof.status_code == 200
    assert proof.content == PDF
    assert proof.headers["content-type"] == "application/pdf"
    assert proof.headers["content-disposition"] == (
        'attachment; filename="justificatif-proof-1.pdf"'
    )
    assert odd.status_code == 404
    assert unknown.status_code == 404
    assert consent.calls() == [("GET", "/v1/me/proofs/proof-1"), ("GET", "/v1/me/proofs/proof-9")]


async def test_the_pages_need_a_session_past_the_cgu(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        for path in ("/consentement", "/donnees", "/donnees/export.json"):
            assert (await client.get(path)).headers["location"] == "/connexion"
        await activate(rig, client)
        for path in ("/consentement", "/donnees", "/donnees/export.json"):
            assert (await client.get(path)).headers["location"] == "/cgu"
    assert consent.requests == []


async def test_an_operator_is_told_the_pages_are_for_recipients(rig: Rig) -> None:
    consent = FakeConsent()
    await rig.identity.accounts.create_operator("operateur-test", PASSWORD)
    async with browser(rig, consent) as client:
        signed = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": "operateur-test", "mot_de_passe": PASSWORD},
        )
        assert signed.status_code == 303
        page = await client.get("/consentement")
    assert page.status_code == 403
    assert "réservée aux destinataires" in page.text
    assert consent.requests == []


async def test_the_account_page_links_to_the_consent_and_data_pages(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        account = await client.get("/compte")
    assert 'href="/consentement"' in account.text
    assert 'href="/donnees"' in account.text
    assert accessibility_problems(account.text) == []
