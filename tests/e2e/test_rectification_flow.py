"""The person's remaining rights end to end in Chromium, on the real stack (post-mortem
directives have theirs in `test_post_mortem_directives`): the help page opens without login
(support and hours, the DPO, the complaint to the CNIL; no axe violation); the person logs into
the portal, asks for a rectification from "Mes données"; an operator lists the pending requests
and answers through identity's API; the person reads the answer in the portal, then reports
their credentials compromised: the portal session ends, operators find the report. The journal
records the three facts, and neither what the person wrote nor the operator's reasons (they
stay in identity's store); no log line holds them either.

Real RabbitMQ, SeaweedFS and dev mailbox; identity served by uvicorn (the browser reaches it),
consent, notify and audit in this process."""

from __future__ import annotations

import json
import logging
import re
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from identity.service import Identity
from identity.settings import Settings as IdentitySettings
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_portal_recipient_pages import DESKTOP, PHONE, audited
from tests.e2e.test_no_credential_in_journal import journal_as_operator
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD, consent_for, office_token
from tests.integration.consent.support import ready_bucket
from tests.integration.identity.support import identity_app
from tests.support.services import eventually, running, serving
from tests.support.stack import (
    Mailbox,
    active_declaration,
    audit_for,
    bearer,
    notify_for,
    verifier_for,
)

# What the person writes and the operator's reasons: personal data, identity's store only.
REQUEST = "Mon nom de naissance est QUENNEVILLE-ARBOGAST, et non QUENNEVILLE."
REASON = "Nom de naissance corrigé d'après l'extrait d'acte de naissance du 3 mars 1961."
OPERATOR = "operateur-rectification"
OPERATOR_PASSWORD = "une phrase de passe d'operateur solide"
FACTS = ("rectification-requested", "rectification-answered", "compromise-reported")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def help_page_without_login(
    browser: Browser, context: BrowserContext, page: Page, base_url: str
) -> None:
    """Someone locked out needs it most: no session, everything the CGU promise on it."""
    response = await page.goto(f"{base_url}/aide")
    assert response is not None
    assert response.status == 200
    assert "/connexion" not in page.url
    await expect(page.get_by_role("heading", level=1)).to_have_text("Aide et contacts")
    defaults = IdentitySettings.model_fields
    await expect(page.locator("#contact-assistance")).to_have_text(
        str(defaults["support_contact"].default)
    )
    await expect(page.locator("#horaires-assistance")).to_have_text(
        str(defaults["support_hours"].default)
    )
    await expect(page.locator("#contact-dpo")).to_have_text(str(defaults["dpo_contact"].default))
    await expect(page.locator("#texte-cnil")).to_contain_text("www.cnil.fr/plaintes")
    for width in (PHONE["width"], DESKTOP["width"]):
        await audited(browser, context, page.url, width)


async def ask_for_rectification(page: Page, base_url: str, identifier: str) -> None:
    await page.goto(f"{base_url}/connexion")
    await page.get_by_label("Identifiant").fill(identifier)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.goto(f"{base_url}/donnees")
    await page.get_by_role("link", name=re.compile("Demandez leur rectification")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Rectifier mes données")
    await page.get_by_label("Votre demande").fill(REQUEST)
    await page.get_by_role("button", name="Envoyer ma demande").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Rectifier mes données")
    row = page.get_by_role("row").filter(has_text=REQUEST)
    await expect(row).to_contain_text("En attente de réponse")


async def report_compromise(page: Page, base_url: str) -> None:
    """From "Mes données": every session ends, the portal's own included."""
    await page.goto(f"{base_url}/donnees")
    await page.get_by_role("link", name="Signalez-le").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Signaler un piratage de mon compte"
    )
    await page.get_by_label(re.compile("^Je signale que les moyens de connexion")).check()
    await page.get_by_role("button", name="Signaler et fermer toutes mes sessions").click()
    await expect(page.get_by_text("Toutes vos sessions sont fermées")).to_be_visible()
    await page.goto(f"{base_url}/compte")
    assert "/connexion" in page.url, page.url


async def operator_answers(identity: Identity, client: httpx.AsyncClient, account_id: str) -> str:
    await identity.accounts.create_operator(OPERATOR, OPERATOR_PASSWORD)
    login = await client.post(
        "/v1/sessions", json={"identifier": OPERATOR, "password": OPERATOR_PASSWORD}
    )
    assert login.status_code == 201, login.text
    operator = bearer(login.json()["access_token"])
    pending = await client.get("/v1/rectification-requests", headers=operator)
    assert pending.status_code == 200, pending.text
    [request] = pending.json()
    assert (request["account_id"], request["text"]) == (account_id, REQUEST)
    answered = await client.post(
        f"/v1/rectification-requests/{request['request_id']}/answer",
        json={"outcome": "rectified", "reason": REASON},
        headers=operator,
    )
    assert answered.status_code == 200, answered.text
    again = await client.post(
        f"/v1/rectification-requests/{request['request_id']}/answer",
        json={"outcome": "refused", "reason": ""},
        headers=operator,
    )
    assert again.status_code == 409, again.text
    assert (await client.get("/v1/rectification-requests", headers=operator)).json() == []
    return str(login.json()["access_token"])


async def test_help_page_rectification_and_compromise_report_through_the_portal(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt chromium)")
    caplog.set_level(logging.DEBUG)
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        identity = identity_app(tmp_path / "identity", bus_prefix)
        consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
        notify = notify_for(tmp_path, bus_prefix, box, identity)
        audit = audit_for(
            tmp_path,
            bus_prefix,
            checkpoint_every=3600,
            token_verifier=verifier_for(identity, "audit"),
        )
        async with AsyncExitStack() as stack:
            port = await stack.enter_async_context(serving(identity))
            base_url = f"http://127.0.0.1:{port}"
            identity_client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=30)
            )
            consent_client = await stack.enter_async_context(running(consent))
            await stack.enter_async_context(running(notify))
            audit_client = await stack.enter_async_context(running(audit))
            await ready_bucket(consent)
            office = bearer(await office_token(identity, identity_client))
            _, activated = await active_declaration(consent_client, identity_client, box, office)
            account_id = str(activated["account_id"])

            playwright = await stack.enter_async_context(async_playwright())
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            stack.push_async_callback(browser.close)
            context = await browser.new_context(java_script_enabled=False, locale="fr-FR")
            page = await context.new_page()
            page.set_default_timeout(15_000)

            await help_page_without_login(browser, context, page, base_url)
            await ask_for_rectification(page, base_url, str(activated["identifier"]))
            operator = await operator_answers(identity.state.identity, identity_client, account_id)

            await page.reload()
            row = page.get_by_role("row").filter(has_text=REQUEST)
            await expect(row).to_contain_text("Rectification faite le")
            await expect(row).to_contain_text(REASON)
            await audited(browser, context, page.url, PHONE["width"])

            await report_compromise(page, base_url)
            reports = await identity_client.get("/v1/compromise-reports", headers=bearer(operator))
            assert reports.status_code == 200, reports.text
            assert [r["account_id"] for r in reports.json()] == [account_id]

            async def all_journaled() -> bool:
                for fact in FACTS:
                    found = await audit_client.get(
                        "/v1/entries", params={"type": f"identity.{fact}.v1"}
                    )
                    if not found.json()["entries"]:
                        return False
                return True

            await eventually(all_journaled, within=60, every=0.5)
            entries = await journal_as_operator(audit_client, operator)

        rectifications = [e for e in entries if e["type"].startswith("identity.rectification-")]
        assert len(rectifications) == 2, [e["type"] for e in entries]
        [compromise] = [e for e in entries if e["type"] == "identity.compromise-reported.v1"]
        assert compromise["payload"]["account_id"] == account_id
        unread = [e["type"] for e in rectifications if e.get("payload_state") != "available"]
        assert unread == [], "the operator reads every payload"
        # The payloads are read (the events name the account), not what was written.
        assert all(e["payload"]["account_id"] == account_id for e in rectifications), rectifications
        journal = json.dumps(entries, ensure_ascii=False)
        for secret in (REQUEST, REASON, "QUENNEVILLE-ARBOGAST", "acte de naissance"):
            assert secret not in journal, f"the journal holds {secret!r}"
            assert secret not in caplog.text, f"a log line holds {secret!r}"
    finally:
        box.stop()
