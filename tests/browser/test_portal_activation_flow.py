"""A recipient in Chromium, JavaScript off: activation link from the dev mailbox → password →
CGU accepted → account page → logout → login page.

Identity runs under a real uvicorn on a free port with the real RabbitMQ (a test prefix); the
declaration arrives as a `consent.declaration-registered.v1` event on the bus; notify runs too
and e-mails the link to the dev mailbox, where the test reads it. Screenshots of every step go
to var/test-artifacts/.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Page, async_playwright, expect

from identity.main import create_app
from shared.clock import SystemClock
from shared.contracts.consent import DeclarationRegisteredV1, PersonKind
from shared.contracts.envelope import new_envelope
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from shared.runtime import ServiceRuntime
from tests.browser.conftest import CHROMIUM_ARGS
from tests.fixtures.rabbit import AMQP_URL
from tests.integration.identity.support import (
    ConsentStandIn,
    identity_settings,
    outbox_envelopes,
)
from tests.support.services import eventually, running, service_env
from tests.support.stack import Mailbox, free_port

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser]

PASSWORD = "cheval-batterie-agrafe-correcte"
EMAIL = "camille.destinataire@example.org"
DECLARATION = "decl-navigateur-1"


@asynccontextmanager
async def served(app: FastAPI, port: int) -> AsyncIterator[str]:
    """The app under a real uvicorn on 127.0.0.1:`port`, its broker connected."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server, task), within=30, every=0.05)
        runtime: ServiceRuntime = app.state.runtime
        await asyncio.wait_for(runtime.broker_started.wait(), 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises the start-up error
        raise AssertionError("uvicorn stopped during start-up")
    return server.started


@asynccontextmanager
async def notify_with_mailbox(
    tmp_path: Path, bus_prefix: str, identity_url: str
) -> AsyncIterator[Mailbox]:
    notify_main = importlib.import_module("notify.main")
    notify_settings = importlib.import_module("notify.settings")
    mailbox = Mailbox(tmp_path / "mailbox")
    mailbox.start()
    try:
        settings = notify_settings.Settings(
            **service_env(tmp_path / "notify", bus_prefix),
            smtp_port=mailbox.smtp_port,
            idle_poll_seconds=0.1,
            # Links are fetched from identity over HTTP when the e-mail is sent; identity may
            # still be starting: short retries.
            identity_url=identity_url,
            retry_first_delay_seconds=0.2,
            retry_max_delay_seconds=1.0,
        )
        async with running(notify_main.create_app(settings)):
            yield mailbox
    finally:
        mailbox.stop()


async def link_from_mailbox(mailbox: Mailbox, base_url: str) -> str:
    pattern = re.compile(re.escape(base_url) + r"/activation\?token=[A-Za-z0-9_\-%]+")
    found: list[str] = []
    async with httpx.AsyncClient() as http:

        async def delivered() -> bool:
            listing = (
                await http.get(f"{mailbox.api}/search", params={"query": f"to:{EMAIL}"})
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


async def publish_declaration(bus_prefix: str) -> None:
    envelope = new_envelope(
        DeclarationRegisteredV1(
            declaration_id=DECLARATION, person_kind=PersonKind.NATURAL, email=EMAIL
        ),
        subject=f"declaration:{DECLARATION}",
        actor="office:etude-demo-75001",
        clock=SystemClock(),
    )
    broker = create_broker(AMQP_URL)
    await broker.connect()
    try:
        await EventPublisher(broker, Topology(bus_prefix)).publish(envelope)
    finally:
        await broker.stop()


async def shot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


async def test_activation_link_to_account_page_and_logout_in_chromium(
    tmp_path: Path, bus_prefix: str, chromium: Path, artifacts: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        identity_settings(tmp_path / "identity", bus_prefix, identity_url=base_url, http_port=port),
        consent_http=ConsentStandIn().client(),
    )
    async with AsyncExitStack() as stack:
        # Notify first: its queues must exist before identity publishes the link.
        mailbox = await stack.enter_async_context(
            notify_with_mailbox(tmp_path, bus_prefix, base_url)
        )
        await stack.enter_async_context(served(app, port))
        await publish_declaration(bus_prefix)
        link = await link_from_mailbox(mailbox, base_url)
        store = app.state.runtime.store
        [account] = await store.find("accounts", {"declaration_id": DECLARATION})
        identifier = account["display_identifier"]

        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        stack.push_async_callback(browser.close)
        context = await browser.new_context(java_script_enabled=False, locale="fr-FR")
        page = await context.new_page()
        page.set_default_timeout(10_000)

        await page.goto(link)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Activer votre compte")
        await shot(page, artifacts, "01-activation")
        await page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Activer mon compte").click()

        await page.wait_for_url(re.compile(r"/cgu\?info=compte-active$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Conditions générales d'utilisation"
        )
        await expect(page.get_by_role("status").first).to_contain_text("Votre compte est activé")
        await shot(page, artifacts, "02-cgu")
        await page.get_by_role("button", name=re.compile(r"^J'accepte les conditions")).click()

        await page.wait_for_url(re.compile(r"/actes\?info=cgu-acceptees$"))
        await page.goto(f"{base_url}/compte")
        await expect(page.locator("#identifiant-du-compte")).to_have_text(identifier)
        await expect(page.get_by_text("version 1", exact=False)).to_be_visible()
        await shot(page, artifacts, "03-compte")
        [cookie] = [c for c in await context.cookies() if c["name"] == "securact_session"]
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"

        await page.get_by_role("button", name="Se déconnecter").click()
        await page.wait_for_url(re.compile(r"/connexion\?info=deconnecte$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
        await expect(page.get_by_role("status").first).to_contain_text("Vous êtes déconnecté")
        await shot(page, artifacts, "04-deconnexion")
        await page.goto(f"{base_url}/compte")
        await expect(page).to_have_url(f"{base_url}/connexion")

        accepted = await outbox_envelopes(app, "identity.terms-accepted.v1")
        assert [e.payload["account_id"] for e in accepted] == [account["_id"]]
