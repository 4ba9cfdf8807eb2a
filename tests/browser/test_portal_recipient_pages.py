"""A person who has just received a bailiff act, in Chromium at 375 px and 1280 px: the CGU page
with the declaration to validate (décret 2021-1625 art. 21), then "Mes actes" and the act's page.
Every page visited is checked with axe-core (zero violations) and for overflow on a 375 px
screen (`scrollWidth <= 375`).

Identity runs for real under uvicorn with notify and the dev mailbox (the activation link);
consent's statement routes and delivery's inbox are recording stand-ins at the HTTP boundary
(the pages' layout is under test here; their services are tested in tests/integration)."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

from identity.main import create_app
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_portal_activation_flow import (
    DECLARATION,
    PASSWORD,
    link_from_mailbox,
    notify_with_mailbox,
    publish_declaration,
    served,
    shot,
)
from tests.integration.identity.support import ConsentStandIn, identity_settings
from tests.support.stack import free_port
from tests.unit.identity.test_portal_acts_pages import ACT, FakeDelivery, act_view

pytestmark = [pytest.mark.timeout(180), pytest.mark.browser]

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/ensure-axe.sh (make browser does)")
    return AXE.read_text(encoding="utf-8")


async def audited(browser: Browser, context: BrowserContext, url: str, width: int) -> None:
    """The page at `url`, as the signed-in browser sees it, in a JavaScript-enabled twin
    context (the portal has no script; axe needs one): no axe-core violation, and nothing
    wider than the screen."""
    twin = await browser.new_context(
        storage_state=await context.storage_state(),
        viewport={"width": width, "height": 900},
        locale="fr-FR",
    )
    try:
        page = await twin.new_page()
        response = await page.goto(url)
        assert response is not None, url
        assert response.ok, url
        await page.evaluate(axe_source())
        violations: list[dict[str, Any]] = await page.evaluate(
            """async () => (await axe.run(document)).violations.map(
                v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))}))"""
        )
        assert violations == [], (url, violations)
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, (url, scroll_width)
    finally:
        await twin.close()


async def test_decret_2021_1625_art_21_and_mes_actes_at_375_and_1280_px_with_axe(
    tmp_path: Path, bus_prefix: str, chromium: Path, artifacts: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    consent = ConsentStandIn()
    delivery = FakeDelivery()
    app = create_app(
        identity_settings(tmp_path / "identity", bus_prefix, identity_url=base_url, http_port=port),
        consent_http=consent.client(),
        delivery_http=httpx.AsyncClient(
            transport=httpx.MockTransport(delivery.handle), base_url="http://delivery.test"
        ),
    )
    async with AsyncExitStack() as stack:
        mailbox = await stack.enter_async_context(
            notify_with_mailbox(tmp_path, bus_prefix, base_url)
        )
        await stack.enter_async_context(served(app, port))
        await publish_declaration(bus_prefix)
        link = await link_from_mailbox(mailbox, base_url)
        [account] = await app.state.runtime.store.find("accounts", {"declaration_id": DECLARATION})
        view = act_view(account["_id"])
        view["sha256"] = "0f" * 32  # a 64-character token with no break opportunity
        delivery.acts[ACT] = view

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

        async def check(name: str, width: int = PHONE["width"]) -> None:
            await shot(page, artifacts, f"{name}-{width}")
            await audited(browser, context, page.url, width)
            if width != PHONE["width"]:
                await audited(browser, context, page.url, PHONE["width"])

        await page.goto(link)
        await check("01-activation")
        await page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Activer mon compte").click()

        # Item 5: the declaration the office registered, with the four articles, to validate.
        await page.wait_for_url(re.compile(r"/cgu\?info=compte-active$"))
        declaration = page.locator("#declaration")
        await expect(declaration).to_contain_text("Votre déclaration de consentement")
        await expect(declaration).to_contain_text("QUENNEVILLE")
        for article in ("653", "662-1", "663", "664-1"):
            await expect(
                declaration.get_by_text(re.compile(f"^Article {article}\\b"))
            ).to_be_visible()
        await expect(declaration).to_contain_text(
            "La date et l'heure de la signification par voie électronique sont celles de "
            "l'envoi de l'acte à son destinataire."
        )
        await check("02-cgu-declaration")
        await page.get_by_role("link", name=re.compile("Cette déclaration est inexacte")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Refuser ma déclaration")
        await check("03-declaration-refus")
        await page.go_back()
        await page.get_by_role(
            "button", name=re.compile(r"^J'accepte les conditions .* je valide ma déclaration$")
        ).click()

        # Item 8: lands on "Mes actes", linked from the header.
        await page.wait_for_url(re.compile(r"/actes\?info=cgu-acceptees$"))
        assert consent.validated == [ConsentStandIn.CONTENT_HASH]
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mes actes")
        menu = page.get_by_role("navigation", name="Menu du compte")
        await expect(menu.get_by_role("link", name="Mes actes")).to_be_visible()
        await check("04-mes-actes")
        await page.get_by_role("link", name=re.compile("Commandement de payer")).click()
        await expect(page.locator("#effet-signification")).to_contain_text(
            "signifié à la date et à l'heure de son envoi"
        )
        await expect(page.get_by_text("Avis de signification envoyé par SMS")).to_be_visible()
        await check("05-acte")
        await menu.get_by_role("link", name="Mon compte").click()
        await check("06-compte")
        # Post-mortem directives: the form, then its errors next to the fields.
        await page.goto(f"{base_url}/donnees/directives")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Mes directives en cas de décès"
        )
        await check("06a-directives")
        await page.get_by_label("Son adresse électronique").fill("pas-une-adresse")
        await page.get_by_role("button", name="Enregistrer mes directives").click()
        await expect(page.get_by_role("alert")).to_contain_text("Choisissez ce que deviennent")
        await check("06b-directives-erreurs")

        # The same pages on a desktop screen, after a new login.
        desktop = await browser.new_context(
            java_script_enabled=False, locale="fr-FR", viewport=DESKTOP
        )
        stack.push_async_callback(desktop.close)
        page = await desktop.new_page()
        context = desktop
        await page.goto(f"{base_url}/connexion")
        await page.get_by_label("Identifiant").fill(account["display_identifier"])
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await page.wait_for_url(f"{base_url}/actes")
        await check("07-mes-actes", DESKTOP["width"])
        await page.goto(f"{base_url}/actes/{ACT}")
        await check("08-acte", DESKTOP["width"])
