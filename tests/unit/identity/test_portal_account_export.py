"""The portal's download of identity's own data about the account (`/donnees/compte.json`),
next to consent's export on "Mes données": served in process, consent never called.

Decision: any signed-in session of the account may download it, including one that has not
answered the CGU yet and a terminated account's read-only one: the rights of access and
portability (GDPR arts 15 and 20) do not depend on accepting the CGU."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.identity.support import PASSWORD, Rig
from tests.unit.identity.test_portal_consent_pages import (
    FakeConsent,
    browser,
    declared_recipient,
)
from tests.unit.identity.test_portal_helpers import (
    accessibility_problems,
    activate,
    signed_in_recipient,
    submit,
)

ATTACHMENT = 'attachment; filename="mon-compte.json"'


async def test_the_account_data_downloads_as_an_attachment_without_calling_consent(
    rig: Rig,
) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        download = await client.get("/donnees/compte.json")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == ATTACHMENT
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["x-content-type-options"] == "nosniff"
    data = download.json()
    assert data["account"]["account_id"] == account_id
    assert data["account"]["identifier"] == await rig.identifier(account_id)
    assert [d["decision"] for d in data["terms_decisions"]] == ["accepted"]
    # The browser's own CGU answer, as recorded.
    assert data["terms_decisions"][0]["ip"] == "198.51.100.7"
    assert "password_hash" not in download.text
    assert "csrf_token" not in download.text
    assert consent.requests == []


async def test_the_account_data_needs_a_session(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        anonymous = await client.get("/donnees/compte.json")
        client.cookies.set("securact_session", "x" * 43)
        forged = await client.get("/donnees/compte.json")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/connexion"
    assert forged.status_code == 303
    assert forged.headers["location"] == "/connexion?info=session-expiree"
    assert "account_id" not in anonymous.text + forged.text


async def test_a_session_waiting_for_the_cgu_may_download_its_account_data(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await activate(rig, client)
        # The CGU gate still holds for the other pages...
        assert (await client.get("/donnees")).headers["location"] == "/cgu"
        download = await client.get("/donnees/compte.json")
        # ... and the refusal page offers the download before a refusal that may be final.
        refusal = await client.get("/cgu/refus")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == ATTACHMENT
    assert download.json()["account"]["account_id"] == account_id
    assert download.json()["terms_decisions"] == []
    assert 'href="/donnees/compte.json"' in refusal.text
    assert accessibility_problems(refusal.text) == []
    assert consent.requests == []


async def test_a_terminated_read_only_account_may_download_its_account_data(rig: Rig) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        account_id = await signed_in_recipient(rig, client)
        ended = await submit(
            client, "/compte", "/compte/resiliation", {"confirmation_resiliation": "oui"}
        )
        assert "Votre compte est résilié" in ended.text
        rig.clock.advance(timedelta(seconds=1))
        signed = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": await rig.identifier(account_id), "mot_de_passe": PASSWORD},
        )
        assert signed.headers["location"] == "/actes"
        download = await client.get("/donnees/compte.json")
    assert download.status_code == 200
    assert download.json()["account"]["status"] == "terminated"
    assert download.json()["account"]["termination_reason"] == "recipient_request"


async def test_the_data_page_offers_both_files_and_says_what_the_account_one_holds(
    rig: Rig,
) -> None:
    consent = FakeConsent()
    async with browser(rig, consent) as client:
        await declared_recipient(rig, client, consent)
        page = await client.get("/donnees")
    assert page.status_code == 200
    assert 'href="/donnees/export.json"' in page.text
    assert 'href="/donnees/compte.json"' in page.text
    assert "Les données de votre compte" in page.text
    assert "réponses aux conditions générales" in page.text
    assert "Ni votre mot de passe" in page.text
    assert accessibility_problems(page.text) == []
    # Only consent's own part is asked of consent.
    assert consent.calls() == [("GET", "/v1/me/restriction-requests")]
