"""The public status page in Chromium, without JavaScript and without login, at 375 px and
1280 px: current state, the upcoming maintenance, a past incident with its times in UTC and in
each legal time, its attestation (PDF) and the Atom feed; axe-core finds no violation.

Retention runs for real under uvicorn on the real bus; its clock is Friday 14 May 2027 at
18:00 in Paris, the probed service (audit) does not answer (a closed port): once the clock
moves past the threshold, an incident of the probes' own is current."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from retention.main import create_app
from retention.settings import Settings
from retention.status.incidents import Scope
from retention.status.service import Status
from shared.clock import ManualClock
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_portal_activation_flow import served, shot
from tests.browser.test_portal_recipient_pages import DESKTOP, PHONE, audited
from tests.support.stack import free_port

pytestmark = [pytest.mark.timeout(180), pytest.mark.browser]

FRIDAY_EVENING = datetime(2027, 5, 14, 16, 0, tzinfo=UTC)


async def test_status_page_atom_feed_and_attestation_in_chromium_without_javascript(
    tmp_path: Path, bus_prefix: str, chromium: Path, artifacts: Path
) -> None:
    port = free_port()
    clock = ManualClock(FRIDAY_EVENING)
    app = create_app(
        Settings(
            data_dir=tmp_path,
            bus_prefix=bus_prefix,
            log_json=False,
            http_port=port,
            public_url=f"http://127.0.0.1:{port}",
            kek_file=tmp_path / "kek.json",
            signing_key_file=tmp_path / "signing.json",
            audit_url=f"http://127.0.0.1:{free_port()}",  # nobody listens
            status_probe_services=["audit"],
            status_probe_interval_seconds=0.2,
            receipt_attempts=1,
        ),
        clock=clock,
    )
    status: Status = app.state.status
    async with AsyncExitStack() as stack:
        base_url = await stack.enter_async_context(served(app, port))
        incident = await status.incidents.open(
            "panne du fournisseur d'hébergement", Scope(["delivery"], ["reunion"]), "op-1"
        )
        clock.advance(timedelta(hours=1))
        await status.incidents.close(incident.id, "op-1")
        await status.maintenances.announce(
            clock.now() + timedelta(days=4),
            clock.now() + timedelta(days=4, hours=2),
            Scope(["notify"]),
            "mise à jour de l'envoi des avis",
            "op-1",
        )

        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        stack.push_async_callback(browser.close)
        context = await browser.new_context(java_script_enabled=False, locale="fr-FR")
        page = await context.new_page()
        page.set_default_timeout(10_000)

        await page.goto(f"{base_url}/statut")
        await expect(page.get_by_role("heading", level=1)).to_have_text("État du service")
        await expect(page.get_by_role("row", name="Journal de preuve")).to_contain_text(
            "indisponible"
        )
        await expect(page.locator("main")).to_contain_text("mise à jour de l'envoi des avis")
        # An hour with audit silent: the probes opened an incident of their own.
        current = page.locator("article.incident").filter(has_text="Journal de preuve")
        await expect(current).to_contain_text("en cours")
        past = page.locator("article.incident").filter(has_text="dépôt des actes")
        await expect(past).to_contain_text("vendredi 14 mai 2027 à 16 h 00 (UTC)")
        await expect(past).to_contain_text(
            "du vendredi 14 mai 2027 à 20 h 00 (heure légale de La Réunion) "
            "au vendredi 14 mai 2027 à 21 h 00 (heure légale de La Réunion)"
        )
        await shot(page, artifacts, "01-statut")
        pdf_link = page.get_by_role("link", name="PDF")
        href = await pdf_link.get_attribute("href")
        assert href == f"/v1/incidents/{incident.id}/attestation.pdf"
        pdf = await page.request.get(f"{base_url}{href}")
        assert pdf.ok
        assert pdf.headers["content-type"] == "application/pdf"
        assert (await pdf.body()).startswith(b"%PDF-1.4")
        atom = await page.request.get(f"{base_url}/statut.atom")
        assert atom.headers["content-type"].startswith("application/atom+xml")
        assert f"urn:securact:incident:{incident.id}" in await atom.text()

        for width in (PHONE["width"], DESKTOP["width"]):
            await audited(browser, context, f"{base_url}/statut", width)
