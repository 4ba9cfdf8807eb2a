"""Destruction that leaves nothing behind, on the real stack, with the clock moved: (a) a person
revokes and never terminates → five years on, the registry's purge erases the declaration, the
account, delivery's copy, the acts and the audit subjects (acts and registry lookups included);
(b) a person terminates → two months on, the acts are erased (only the registry's own data is
left, as art. 21 requires), then five years on nothing; (c) a consent expires → five years on,
the account goes with the declaration. After each, the sweep (`retention.sweep`) of every
SQLite store, every bucket and audit's readable payloads finds references only, and the
erasure certificate lists every participant's confirmation.

Real RabbitMQ, SeaweedFS, dev mailbox; identity, consent, notify, audit, delivery and retention
in this process. Delivery, retention and consent share one manual clock (the others run on the
real one): the "dev clock offset" of these flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from consent.service import Consent
from retention import cli, sweep_cli
from retention.certificate import verify_certificate
from retention.domain import Purpose, schedule_id
from retention.download_links import DownloadLinks
from retention.erasure import ErasureState
from retention.main import create_app as create_retention
from retention.repository import ERASURES, SCHEDULES
from retention.service import Retention
from retention.settings import Settings as RetentionSettings
from retention.sweep import Category, Sweep
from shared.clock import ManualClock
from shared.crypto import VerifierKey
from shared.messaging.outbox import RelayPolicy, purge_sent
from shared.store.port import from_iso
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import LOOKUP, login, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running, service_env
from tests.support.stack import (
    Mailbox,
    ServingStack,
    active_declaration,
    bearer,
    bring_first_terms_into_force,
    mail_to,
    serving_stack,
    verifier_for,
)
from tests.support.sweeping import MOBILE, POSTCODE, sweep_platform
from tests.unit.consent.support import BIRTH, EMAIL, NOM
from tests.unit.delivery.support import metadata, multipart, pdf

COMPLETED = ErasureState.COMPLETED.value
EVERY_PARTICIPANT = {"consent", "delivery", "identity", "audit"}


@dataclass
class Flow:
    stack: ServingStack
    retention_app: FastAPI
    clients: dict[str, httpx.AsyncClient]
    office: dict[str, str]
    s3: S3Server
    tmp_path: Path
    box: Mailbox

    @property
    def clock(self) -> ManualClock:
        return self.stack.clock

    @property
    def retention(self) -> Retention:
        retention: Retention = self.retention_app.state.retention
        return retention

    async def schedule(self, purpose: Purpose, subject: str) -> dict[str, Any]:
        store = self.retention_app.state.runtime.store
        sid = schedule_id(purpose, subject)

        async def scheduled() -> bool:
            return await store.get(SCHEDULES, sid) is not None

        await eventually(scheduled, within=30)
        found = await store.get(SCHEDULES, sid)
        assert found is not None
        return dict(found)

    async def fire_after(self, schedule: dict[str, Any]) -> dict[str, Any]:
        """The clock a day before the due instant: nothing; a day after: the erasure, until
        completed (certificate issued when the erasure has an account)."""
        due = from_iso(schedule["due_at"])
        self.clock.set(max(self.clock.now(), due - timedelta(days=1)))
        assert (await self.retention.schedules.run_due()).fired == 0
        self.clock.set(due + timedelta(days=1))
        assert (await self.retention.schedules.run_due()).fired == 1
        store = self.retention_app.state.runtime.store
        erasure_id = f"erasure|{schedule['_id']}"

        async def completed() -> bool:
            await self.retention.certificates.issue_pending()
            erasure = await store.get(ERASURES, erasure_id)
            return erasure is not None and erasure["state"] == COMPLETED

        await eventually(completed, within=60, every=0.5)
        erasure = await store.get(ERASURES, erasure_id)
        assert erasure is not None
        assert not erasure["alerted"], erasure
        return dict(erasure)

    async def certificate(self, erasure: dict[str, Any]) -> dict[str, Any]:
        """The signed certificate, read back and verified with the published keys."""
        certificate_id = str(erasure["certificate_id"])
        link = await DownloadLinks(self.retention.ctx).link(certificate_id)
        client = self.clients["retention"]
        signed = await client.get(httpx.URL(link.url).path.removesuffix(".pdf") + ".json")
        assert signed.status_code == 200, signed.text
        keys = (await client.get("/v1/certificates/keys")).json()["keys"]
        return dict(verify_certificate(signed.content, [VerifierKey.from_string(k) for k in keys]))

    async def sweep(self, account_id: str, declaration_id: str) -> Sweep:
        """Every store of this run, its buckets, audit's readable payloads."""
        return await sweep_platform(
            self.tmp_path, self.stack.audit, self.s3, account_id, declaration_id
        )


FlowBody = Callable[[Flow], Coroutine[Any, Any, None]]


@asynccontextmanager
async def flow(tmp_path: Path, bus_prefix: str, s3_server: S3Server) -> AsyncIterator[Flow]:
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
        async with (
            running(stack.identity) as identity,
            running(stack.consent) as consent,
            running(stack.notify),
            running(stack.audit),
            running(stack.delivery) as delivery,
            running(retention_app) as retention,
        ):
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


async def served_person(f: Flow) -> tuple[str, str, str, list[str]]:
    """An active declaration, a registry lookup that finds it, one act served and read."""
    declaration_id, activated = await active_declaration(
        f.clients["consent"], f.clients["identity"], f.box, f.office
    )
    identifier = str(activated["identifier"])
    delivery_store = f.stack.delivery.state.runtime.store

    async def delivery_knows_consent() -> bool:
        row = await delivery_store.get("declarations", declaration_id)
        return row is not None and row.get("status") == "active" and bool(row.get("email"))

    await eventually(delivery_knows_consent, within=30)
    found = await f.clients["consent"].post("/v1/registry/search", json=LOOKUP, headers=f.office)
    assert found.status_code == 200, found.text
    body, content_type = multipart(metadata(declaration_id), pdf(8_000, seed=b"act"))
    served = await f.clients["delivery"].post(
        "/v1/acts",
        content=body,
        headers={"Content-Type": content_type, "Idempotency-Key": "d-1", **f.office},
    )
    assert served.status_code == 201, served.text
    act_id = str(served.json()["id"])
    row = await f.stack.consent.state.runtime.store.get("declarations", declaration_id)
    assert row is not None
    account_id = str(row["account_id"])

    async def retention_saw_it() -> bool:
        store = f.retention_app.state.runtime.store
        return bool(await store.count("served_acts")) and bool(await store.count("lookups"))

    await eventually(retention_saw_it, within=30)
    return declaration_id, account_id, identifier, [act_id]


async def clean(f: Flow, account_id: str, declaration_id: str) -> None:
    """References only (tombstones' and schedules' ids, journal leaves), once the outboxes
    dropped the events they published (`keep_sent_for`, one day after sending): until then
    the sweep lists them as transient, which is not clean (they are readable copies). The
    shared clock moves two days on and the relays purge; identity runs on the real clock: its
    published events (the activation link's, sent minutes ago) are dropped on the relay's own
    rule, a day on its clock."""
    await mail_to(f.box, "Certificat")  # the last message: its address leaves notify once sent
    last: list[Sweep] = []

    async def swept() -> bool:
        last[:] = [await f.sweep(account_id, declaration_id)]
        return last[0].clean_but(frozenset({Category.TRANSIENT}))

    with contextlib.suppress(AssertionError):  # the report says what is left
        await eventually(swept, within=30, every=1)
    assert last[0].clean_but(frozenset({Category.TRANSIENT})), last[0].report()
    assert not last[0].clean, "the published events still sit in the outboxes"
    f.clock.advance(timedelta(days=2))

    async def purged() -> bool:
        last[:] = [await f.sweep(account_id, declaration_id)]
        return all(p.where.startswith("identity.sqlite3#outbox/") for p in last[0].problems())

    with contextlib.suppress(AssertionError):
        await eventually(purged, within=30, every=1)
    assert all(p.where.startswith("identity.sqlite3#outbox/") for p in last[0].problems()), last[
        0
    ].report()
    identity = f.stack.identity.state.runtime
    keep = RelayPolicy().keep_sent_for
    await purge_sent(identity.store, identity.clock.now() + keep + timedelta(hours=1), keep)
    found = await f.sweep(account_id, declaration_id)
    assert found.clean, found.report()
    assert found.findings


def every_participant(certificate: dict[str, Any], act_ids: list[str]) -> None:
    assert {s["participant"] for s in certificate["steps"]} == EVERY_PARTICIPANT
    assert [a["act_id"] for a in certificate["acts"]] == act_ids
    assert certificate["legal_basis"].startswith("Décret 2021-1625 art. 21")


async def run(tmp_path: Path, bus_prefix: str, s3_server: S3Server, body: FlowBody) -> None:
    async with flow(tmp_path, bus_prefix, s3_server) as f:
        await body(f)


@pytest.mark.slow
async def test_a_revocation_never_followed_by_termination_is_purged_five_years_on(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    swept: list[tuple[Flow, str, str]] = []

    async def revoked(f: Flow) -> None:
        declaration_id, account_id, identifier, act_ids = await served_person(f)
        person = bearer((await login(f.clients["identity"], identifier))["access_token"])
        revoked = await f.clients["consent"].post(
            "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
        )
        assert revoked.status_code == 200, revoked.text
        schedule = await f.schedule(Purpose.REGISTRY_PURGE, f"declaration:{declaration_id}")
        assert schedule["data"]["ended_by"] == "revocation"
        assert not (await f.sweep(account_id, declaration_id)).clean
        erasure = await f.fire_after(schedule)
        assert set(erasure["confirmations"]) == EVERY_PARTICIPANT
        every_participant(await f.certificate(erasure), act_ids)
        await clean(f, account_id, declaration_id)
        swept.append((f, account_id, declaration_id))

    await run(tmp_path, bus_prefix, s3_server, revoked)
    # The operator's command, once the services stopped (it opens audit's store itself).
    await asyncio.wait_for(operator_sweep(*swept[0]), timeout=60)


async def operator_sweep(f: Flow, account_id: str, declaration_id: str) -> None:
    """`securact-retention sweep` on the same stores, audit's payloads opened with its KEK:
    it finds what the helper found, references only."""
    options = cli.build_parser().parse_args(
        [
            "sweep",
            f"--subject=account:{account_id}",
            f"--subject=declaration:{declaration_id}",
            f"--name={NOM}",
            f"--email={EMAIL}",
            f"--mobile={MOBILE}",
            f"--postcode={POSTCODE}",
            f"--birth-date={BIRTH.isoformat()}",
            f"--data-dir={f.tmp_path}",
            f"--audit-store={f.tmp_path / 'audit' / 'audit.sqlite3'}",
            f"--audit-kek={f.tmp_path / 'audit-kek.json'}",
        ]
    )
    out = io.StringIO()
    status = await sweep_cli.run_sweep(options, out)
    lines = out.getvalue().splitlines()
    listed = [line for line in lines[:-1] if not line.startswith("reference")]
    assert listed == [], out.getvalue()
    assert any(line.startswith("reference") and "audit:" in line for line in lines)
    assert status == 0


@pytest.mark.slow
async def test_a_termination_erases_the_acts_two_months_on_and_the_registry_five_years_on(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async def terminated(f: Flow) -> None:
        declaration_id, account_id, identifier, act_ids = await served_person(f)
        person = bearer((await login(f.clients["identity"], identifier))["access_token"])
        done = await f.clients["identity"].post(
            "/v1/me/termination", json={"confirm": True}, headers=person
        )
        assert done.status_code == 200, done.text
        erasure = await f.fire_after(
            await f.schedule(Purpose.ACCOUNT_ERASURE, f"account:{account_id}")
        )
        certificate = await f.certificate(erasure)
        assert {s["participant"] for s in certificate["steps"]} == {
            "delivery",
            "audit",
            "identity",
        }
        assert [a["act_id"] for a in certificate["acts"]] == act_ids
        # Two months on, only the registry keeps the person (art. 21: five years after the
        # consent ended): consent's declaration and its proofs, nowhere else.
        await mail_to(f.box, "Certificat")
        consent_objects = f.stack.consent.state.runtime.objects
        # The registry: consent's store and bucket, and the journal of its lookups.
        registry = (
            "consent.sqlite3#",
            f"s3://{consent_objects.bucket}/",
            "audit.sqlite3#journal_subject_keys/registry-lookup:",
        )
        found = await f.sweep(account_id, declaration_id)
        left = [p for p in found.problems() if p.category is not Category.TRANSIENT]
        assert {p.where.split("#")[0] for p in left} >= {"consent.sqlite3"}
        assert [p for p in left if not p.where.startswith(registry)] == [], found.report()
        purge = await f.schedule(Purpose.REGISTRY_PURGE, f"declaration:{declaration_id}")
        assert purge["data"]["ended_by"] == "termination"
        purged = await f.fire_after(purge)
        assert set(purged["confirmations"]) == EVERY_PARTICIPANT
        every_participant(await f.certificate(purged), act_ids)
        await clean(f, account_id, declaration_id)

    await run(tmp_path, bus_prefix, s3_server, terminated)


@pytest.mark.slow
async def test_an_expired_consent_is_purged_with_its_account_five_years_on(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async def expired(f: Flow) -> None:
        declaration_id, account_id, _identifier, act_ids = await served_person(f)
        consent: Consent = f.stack.consent.state.consent
        row = await f.stack.consent.state.runtime.store.get("declarations", declaration_id)
        assert row is not None
        ends: datetime = from_iso(row["expires_at"])
        f.clock.set(ends + timedelta(minutes=1))
        assert await consent.lifecycle.expire_due() == 1
        schedule = await f.schedule(Purpose.REGISTRY_PURGE, f"declaration:{declaration_id}")
        assert schedule["data"]["ended_by"] == "expiry"
        assert schedule["data"]["account_id"] == account_id
        erasure = await f.fire_after(schedule)
        assert set(erasure["confirmations"]) == EVERY_PARTICIPANT
        every_participant(await f.certificate(erasure), act_ids)
        account = await f.stack.identity.state.identity.ctx.store.get("accounts", account_id)
        assert account is not None
        assert account["status"] == "deleted"
        await clean(f, account_id, declaration_id)

    await run(tmp_path, bus_prefix, s3_server, expired)
