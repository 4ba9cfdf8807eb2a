"""Post-mortem directives end to end (loi 78-17 art. 85), on the real stack: the person records
"erase at once" and a person to inform in the portal, in Chromium; an operator records the
death through identity's API; retention brings the account's erasure forward to that instant,
every participant confirms, the signed certificate verifies, the designated person's notice
reaches the dev mailbox, and the sweep finds the person only where the law keeps them (the
registry, five years after the consent ended) and the designated person nowhere.

Real RabbitMQ, SeaweedFS, dev mailbox; identity served by uvicorn (the browser reaches it),
consent, notify, audit, delivery and retention in this process, as in
`test_destruction_flows` (delivery, retention and consent on one manual clock)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio
from playwright.async_api import async_playwright, expect
from pydantic import SecretStr

from audit.service import JOURNAL
from identity.service import Identity
from retention.domain import Purpose
from retention.main import create_app as create_retention
from retention.repository import ERASURES
from retention.settings import Settings as RetentionSettings
from retention.sweep import Category, Person, Sweep, sweep_person
from shared.store.port import from_iso
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_destruction_flows import COMPLETED, Flow, served_person
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import PASSWORD, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running, service_env, serving
from tests.support.stack import (
    Mailbox,
    bearer,
    bring_first_terms_into_force,
    mail_to,
    serving_stack,
    verifier_for,
)

HEIR_NAME = "Héloïse Vandermeersch"
HEIR_EMAIL = "heloise.vandermeersch@example.net"
OPERATOR = "operateur-deces"
OPERATOR_PASSWORD = "une phrase de passe d'operateur solide"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@asynccontextmanager
async def served_flow(tmp_path: Path, bus_prefix: str, s3_server: S3Server) -> AsyncIterator[Flow]:
    """`test_destruction_flows.flow`, with identity on a port: the browser's portal."""
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(
            tmp_path, bus_prefix, s3_server, box, checkpoint_every=0.5, shared_clock=True
        )
        retention_app = create_retention(
            RetentionSettings(
                **service_env(tmp_path / "retention", bus_prefix),
                kek_file=tmp_path / "retention-kek.json",
                signing_key_file=tmp_path / "retention-signing.json",
                s3_endpoint=s3_server.endpoint,
                s3_access_key=SecretStr(s3_server.access_key),
                s3_secret_key=SecretStr(s3_server.secret_key),
                s3_bucket=random_bucket_name(),
                scheduler_interval_seconds=3600,  # the test fires the scheduler itself
                receipt_attempts=8,
                receipt_retry_seconds=0.5,
            ),
            clock=stack.clock,
            audit_http=stack.audit_http,
            token_verifier=verifier_for(stack.identity, "retention"),
        )
        stack.retention.app = retention_app
        async with AsyncExitStack() as services:
            port = await services.enter_async_context(serving(stack.identity))
            identity = await services.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
            )
            consent = await services.enter_async_context(running(stack.consent))
            await services.enter_async_context(running(stack.notify))
            await services.enter_async_context(running(stack.audit))
            delivery = await services.enter_async_context(running(stack.delivery))
            retention = await services.enter_async_context(running(retention_app))
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            await ready_bucket(retention_app)
            await bring_first_terms_into_force(retention_app, stack.clock)
            scopes = ("registry:write", "registry:read", "acts:write", "acts:read")
            office = bearer(await office_token(stack.identity, identity, scopes))
            clients = {
                "identity": identity,
                "consent": consent,
                "delivery": delivery,
                "retention": retention,
            }
            yield Flow(stack, retention_app, clients, office, s3_server, tmp_path, box)
        await stack.audit_http.aclose()
    finally:
        box.stop()


async def directives_in_chromium(base_url: str, identifier: str) -> None:
    """Log in, open "Mes données", record "erase at once" and the person to inform."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(java_script_enabled=False, locale="fr-FR")
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto(f"{base_url}/connexion")
            await page.get_by_label("Identifiant").fill(identifier)
            await page.get_by_label("Mot de passe").fill(PASSWORD)
            await page.get_by_role("button", name="Se connecter").click()
            await page.goto(f"{base_url}/donnees")
            await page.get_by_role(
                "link", name=re.compile("enregistrer, modifier ou révoquer")
            ).click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                "Mes directives en cas de décès"
            )
            await page.get_by_label(re.compile("^Effacer mes données")).check()
            await page.get_by_label("Son nom").fill(HEIR_NAME)
            await page.get_by_label("Son adresse électronique").fill(HEIR_EMAIL)
            await page.get_by_role("button", name="Enregistrer mes directives").click()
            await expect(page.get_by_text("Vos directives sont enregistrées")).to_be_visible()
            await expect(page.get_by_text(f"{HEIR_NAME} ({HEIR_EMAIL})")).to_be_visible()
        finally:
            await browser.close()


async def operator_records_the_death(f: Flow, account_id: str) -> dict[str, Any]:
    identity_service: Identity = f.stack.identity.state.identity
    await identity_service.accounts.create_operator(OPERATOR, OPERATOR_PASSWORD)
    client = f.clients["identity"]
    login = await client.post(
        "/v1/sessions", json={"identifier": OPERATOR, "password": OPERATOR_PASSWORD}
    )
    assert login.status_code == 201, login.text
    operator = bearer(login.json()["access_token"])
    recorded = await client.post(
        f"/v1/accounts/{account_id}/death",
        json={"died_on": "2026-11-30", "justification": "acte de décès n° 2026-0042"},
        headers=operator,
    )
    assert recorded.status_code == 201, recorded.text
    return dict(recorded.json())


async def notice_to_heir(box: Mailbox) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def delivered() -> bool:
        async with httpx.AsyncClient(base_url=box.api) as mail:
            for summary in (await mail.get("/messages")).json().get("messages", []):
                if any(to.get("Address") == HEIR_EMAIL for to in summary.get("To", [])):
                    found.append((await mail.get(f"/message/{summary['ID']}")).json())
                    return True
        return False

    await eventually(delivered, within=30, every=0.3)
    return found[0]


async def test_erase_at_once_recorded_in_the_portal_is_applied_when_the_death_is_recorded(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt chromium)")
    async with served_flow(tmp_path, bus_prefix, s3_server) as f:
        declaration_id, account_id, identifier, act_ids = await served_person(f)
        base_url = str(f.clients["identity"].base_url).rstrip("/")
        await directives_in_chromium(base_url, identifier)

        death = await operator_records_the_death(f, account_id)
        assert (death["erasure"], death["designated_person_informed"]) == ("at_once", True)
        recorded_at = from_iso(death["recorded_at"])

        # Due at the death's recording, not two months on: fired at once.
        schedule = await f.schedule(Purpose.ACCOUNT_ERASURE, f"account:{account_id}")

        async def brought_forward() -> bool:
            schedule.update(await f.schedule(Purpose.ACCOUNT_ERASURE, f"account:{account_id}"))
            return from_iso(schedule["due_at"]) <= recorded_at

        await eventually(brought_forward, within=30)
        f.clock.set(max(f.clock.now(), recorded_at + timedelta(minutes=1)))
        assert (await f.retention.schedules.run_due()).fired == 1
        store = f.retention_app.state.runtime.store
        erasure_id = f"erasure|{schedule['_id']}"

        async def completed() -> bool:
            await f.retention.certificates.issue_pending()
            erasure = await store.get(ERASURES, erasure_id)
            return erasure is not None and erasure["state"] == COMPLETED

        await eventually(completed, within=60, every=0.5)
        erasure = await store.get(ERASURES, erasure_id)
        assert erasure is not None
        assert not erasure["alerted"], erasure
        certificate = await f.certificate(dict(erasure))
        assert {s["participant"] for s in certificate["steps"]} == {
            "delivery",
            "audit",
            "identity",
        }
        assert [a["act_id"] for a in certificate["acts"]] == act_ids

        notice = await notice_to_heir(f.box)
        assert "Directives" in notice["Subject"]
        assert "effacées sans attendre" in notice["Text"]
        await mail_to(f.box, "Certificat")
        # No "your account is terminated" to the deceased.
        async with httpx.AsyncClient(base_url=f.box.api) as mail:
            subjects = [m["Subject"] for m in (await mail.get("/messages")).json()["messages"]]
        assert not any("résiliation" in s.lower() for s in subjects), subjects

        # Only the registry keeps the person (décret 2021-1625 art. 21), the designated
        # person nowhere but in identity's outbox until it forgets what it published.
        consent_objects = f.stack.consent.state.runtime.objects
        registry = (
            "consent.sqlite3#",
            f"s3://{consent_objects.bucket}/",
            "audit.sqlite3#journal_subject_keys/registry-lookup:",
        )
        found = await f.sweep(account_id, declaration_id)
        left = [p for p in found.problems() if p.category is not Category.TRANSIENT]
        assert [p for p in left if not p.where.startswith(registry)] == [], found.report()
        heir = await heir_sweep(f)
        assert [p for p in heir.problems() if p.category is not Category.TRANSIENT] == [], (
            heir.report()
        )


async def heir_sweep(f: Flow) -> Sweep:
    """The sweep for the designated person's name and address alone."""
    journal = f.stack.audit.state.journal
    audit_store = f.stack.audit.state.runtime.store

    async def readable() -> AsyncIterator[tuple[str, Any]]:
        for entry in await audit_store.find(JOURNAL, sort=[("_id", 1)]):
            opened = await journal.payload(entry)
            if opened.record is not None:
                yield f"audit:{entry['_id']} ({entry['subject']})", opened.record

    person = Person(
        names=tuple(HEIR_NAME.split()),
        birth_dates=(),
        emails=(HEIR_EMAIL,),
        mobiles=(),
        postcodes=(),
        account_ids=(),
        declaration_ids=(),
    )
    s3 = Minio(f.s3.endpoint, access_key=f.s3.access_key, secret_key=f.s3.secret_key, secure=False)
    return await sweep_person(person, data_dirs=[f.tmp_path], s3=s3, readable=readable())
