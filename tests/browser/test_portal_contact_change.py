"""A recipient changes the notification e-mail in Chromium at 375 px: "Mes données" → "Mes
coordonnées" → new address and password → the confirmation link arrives in the dev mailbox at
the new address → its page → confirmed; the previous address is told. Each page is checked with
axe-core and for overflow on a 375 px screen.

Identity runs for real under uvicorn with notify and the dev mailbox on the real bus; consent's
routes the pages read are a stand-in at the HTTP boundary (consent's side of a move is tested
in tests/integration/consent/test_contact_changes_bus.py)."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from identity.main import create_app
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_portal_activation_flow import (
    DECLARATION,
    EMAIL,
    PASSWORD,
    link_from_mailbox,
    notify_with_mailbox,
    publish_declaration,
    served,
    shot,
)
from tests.browser.test_portal_recipient_pages import PHONE, audited
from tests.integration.identity.support import ConsentStandIn, identity_settings
from tests.support.services import eventually
from tests.support.stack import Mailbox, free_port

pytestmark = [pytest.mark.timeout(180), pytest.mark.browser]

NEW = "camille.nouvelle@example.net"


class ConsentWithDeclaration(ConsentStandIn):
    """The stand-in, also answering the person's declaration (its domicile is shown)."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/me/declaration":
            return httpx.Response(200, json=self.declaration())
        return super().handle(request)

    def declaration(self) -> dict[str, Any]:
        return {
            "id": "decl",
            "status": "active",
            "person_kind": "natural",
            "person": {
                "kind": "natural",
                "nom": "QUENNEVILLE",
                "prenoms": "Camille",
                "domicile": {
                    "adresse": "12 rue des Granges",
                    "code_postal": "97110",
                    "commune": "Pointe-à-Pitre",
                },
            },
            "territory": "guadeloupe",
            "contact_changes": [],
        }


async def mail_to(mailbox: Mailbox, address: str, pattern: re.Pattern[str]) -> str:
    """The first match of `pattern` in a message to `address` (waits for it)."""
    found: list[str] = []
    async with httpx.AsyncClient() as http:

        async def delivered() -> bool:
            listing = (
                await http.get(f"{mailbox.api}/search", params={"query": f"to:{address}"})
            ).json()
            for summary in listing.get("messages", []):
                detail = (await http.get(f"{mailbox.api}/message/{summary['ID']}")).json()
                match = pattern.search(detail.get("Text", ""))
                if match:
                    found.append(match.group(0))
                    return True
            return False

        await eventually(delivered, within=30, every=0.2)
    return found[0]


async def test_the_notification_email_changes_by_the_link_sent_to_the_new_address(
    tmp_path: Path, bus_prefix: str, chromium: Path, artifacts: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        identity_settings(tmp_path / "identity", bus_prefix, identity_url=base_url, http_port=port),
        consent_http=ConsentWithDeclaration().client(),
    )
    async with AsyncExitStack() as stack:
        mailbox = await stack.enter_async_context(
            notify_with_mailbox(tmp_path, bus_prefix, base_url)
        )
        await stack.enter_async_context(served(app, port))
        await publish_declaration(bus_prefix)
        activation = await link_from_mailbox(mailbox, base_url)

        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        stack.push_async_callback(browser.close)
        context = await browser.new_context(
            java_script_enabled=False, locale="fr-FR", viewport=PHONE
        )
        page = await context.new_page()
        page.set_default_timeout(10_000)

        async def check(name: str) -> None:
            await shot(page, artifacts, name)
            await audited(browser, context, page.url, PHONE["width"])

        await page.goto(activation)
        await page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Activer mon compte").click()
        await page.wait_for_url(re.compile(r"/cgu\?info=compte-active$"))
        await page.get_by_role("button", name=re.compile(r"^J'accepte les conditions")).click()
        await page.wait_for_url(re.compile(r"/actes\?info=cgu-acceptees$"))

        # "Mes données" leads to "Mes coordonnées".
        await page.goto(f"{base_url}/donnees")
        await page.get_by_role("link", name="Mes coordonnées").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mes coordonnées")
        await expect(page.locator("#territoire-actuel")).to_have_text("Guadeloupe")
        await check("01-coordonnees")
        await page.get_by_label("Nouvelle adresse électronique").fill(NEW)
        await page.get_by_label(re.compile("^Votre mot de passe")).fill(PASSWORD)
        await page.get_by_role("button", name="Recevoir le lien de confirmation").click()
        await page.wait_for_url(re.compile(r"/donnees/coordonnees\?info=confirmation-envoyee$"))
        await expect(page.locator("#adresse-en-attente")).to_contain_text(NEW)
        await expect(page.locator("#adresse-en-attente")).to_contain_text(
            "heure légale de la Guadeloupe"
        )
        await check("02-confirmation-envoyee")

        # The link, received at the new address only.
        link = await mail_to(
            mailbox,
            NEW,
            re.compile(re.escape(base_url) + r"/donnees/courriel/confirmation\?token=[\w\-%]+"),
        )
        await page.goto(link)
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Confirmer ma nouvelle adresse"
        )
        await expect(page.get_by_text(NEW)).to_be_visible()
        await check("03-lien")
        await page.get_by_role("button", name="Confirmer cette adresse").click()
        await expect(page.locator("#adresse-confirmee")).to_be_visible()
        # The answer to a POST (a GET of its URL asks for a token): its layout is the link's
        # page's, audited above.
        await shot(page, artifacts, "04-adresse-confirmee")

        # The previous address is told; the account now shows the new one (masked).
        told = await mail_to(mailbox, EMAIL, re.compile(r"c\*\*\*@example\.net"))
        assert told == "c***@example.net"
        await page.goto(f"{base_url}/donnees/coordonnees")
        await expect(page.locator("#adresse-actuelle")).to_contain_text("@example.net")
        [account] = await app.state.runtime.store.find("accounts", {"declaration_id": DECLARATION})
        assert account["email"] == NEW
