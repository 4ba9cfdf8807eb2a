"""A declaration never active, end to end, with nothing but the services' own periodic jobs and
the dev clock offset (`clock_offset_seconds`) to move time:

(d) never activated → expiry: an office registers a declaration; identity is restarted with its
    clock 72 h + 30 days (and a minute) ahead, and its lapse job, run at start, lapses the
    account; consent expires the declaration; retention, whose clock runs as far ahead, fires
    the purge on its own scheduler; consent shreds the proofs, audit the subjects' keys,
    identity deletes the account.
(e) first CGU refused: the person activates the account and refuses the first version; with
    every clock on time, retention's scheduler purges the declaration and the account within
    seconds: no five years.

After each, the sweep (`retention.sweep`) of every SQLite store, every bucket and audit's
readable payloads finds references only once the relays dropped the events they published a
day before (until then, the sweep lists those outbox rows as `transient`: not clean).

Real RabbitMQ and SeaweedFS; identity, consent, audit and retention apps in this process, each
on its own system clock (shifted in dev mode only).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from audit.main import create_app as create_audit
from audit.service import JOURNAL
from audit.settings import Settings as AuditSettings
from audit.vault import SUBJECT_KEYS
from consent.proofs import PROOF_KEYS, object_key
from identity.records import ACCOUNTS
from retention.domain import Purpose, schedule_id
from retention.main import create_app as create_retention
from retention.repository import ERASURES
from retention.settings import Settings as RetentionSettings
from retention.sweep import Category, Sweep
from shared.clock import SystemClock
from shared.messaging.outbox import OUTBOX, RelayPolicy, purge_sent
from shared.objects import ObjectNotFoundError, ObjectStore
from shared.store.port import DocumentStore
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import PASSWORD, PERSONAL, consent_for, login, office_token
from tests.integration.consent.support import ready_bucket, registry_of
from tests.integration.delivery.test_delivery_service import settings as delivery_settings
from tests.integration.identity.support import activation_url, identity_app
from tests.support.consent_registry import delivery_on_events
from tests.support.services import eventually, running, service_env
from tests.support.stack import bearer
from tests.support.sweeping import sweep_platform
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration

# Past the activation link's 72 hours and the 30 days' lapse delay.
LAPSE_OFFSET = (timedelta(hours=72) + timedelta(days=30, minutes=1)).total_seconds()


@dataclass
class Platform:
    tmp: Path
    bus_prefix: str
    consent_app: FastAPI
    consent: httpx.AsyncClient
    objects: ObjectStore
    audit: FastAPI
    audit_store: DocumentStore
    retention_store: DocumentStore
    s3: S3Server
    delivery: FastAPI
    retention: FastAPI

    def identity(self, offset: float = 0.0) -> FastAPI:
        """Identity on its data directory; `offset` shifts its clock (dev mode)."""
        return identity_app(self.tmp / "identity", self.bus_prefix, clock_offset_seconds=offset)


@asynccontextmanager
async def platform(
    tmp: Path, bus_prefix: str, s3: S3Server, first_identity: FastAPI, retention_offset: float
) -> AsyncIterator[Platform]:
    consent = consent_for(tmp / "consent", bus_prefix, s3, first_identity)
    audit = create_audit(
        AuditSettings(
            **service_env(tmp / "audit", bus_prefix),
            kek_file=tmp / "audit-kek.json",
            signing_key_file=tmp / "audit-signing.json",
        )
    )
    retention = create_retention(
        RetentionSettings(
            **service_env(tmp / "retention", bus_prefix),
            kek_file=tmp / "retention-kek.json",
            signing_key_file=tmp / "retention-signing.json",
            s3_endpoint=s3.endpoint,
            s3_access_key=SecretStr(s3.access_key),
            s3_secret_key=SecretStr(s3.secret_key),
            s3_bucket=random_bucket_name(),
            scheduler_interval_seconds=1,
            clock_offset_seconds=retention_offset,
        )
    )
    # Delivery holds a copy of the registry (the declaration's e-mail): it purges it too.
    delivery = delivery_on_events(delivery_settings(tmp / "delivery", bus_prefix, s3))
    async with (
        running(consent) as consent_client,
        running(audit),
        running(delivery),
        running(retention),
    ):
        await ready_bucket(consent)
        objects = consent.state.runtime.objects
        assert objects is not None
        yield Platform(
            tmp,
            bus_prefix,
            consent,
            consent_client,
            objects,
            audit,
            audit.state.runtime.store,
            retention.state.runtime.store,
            s3,
            delivery,
            retention,
        )


async def register(
    p: Platform, identity: FastAPI, client: httpx.AsyncClient
) -> tuple[str, str, list[str]]:
    office = bearer(await office_token(identity, client, office_id="etude-never"))
    body, content_type = multipart_body(
        natural_declaration(SystemClock().now().date()), NATURAL_FILES
    )
    created = await p.consent.post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    declaration_id = str(created.json()["id"])
    registry = registry_of(p.consent_app)

    async def linked() -> bool:
        document = await registry.get(declaration_id)
        return document is not None and document["account_id"] is not None

    await eventually(linked, within=30)
    document = await registry.get(declaration_id)
    assert document is not None
    proof_ids = [str(proof) for proof in document["proof_ids"]]
    for proof_id in proof_ids:
        assert [chunk async for chunk in await p.objects.get(object_key(proof_id))]
    return declaration_id, str(document["account_id"]), proof_ids


async def nothing_left(
    p: Platform, identity: FastAPI, declaration_id: str, account_id: str, proof_ids: list[str]
) -> None:
    """The registry purge completed with every confirmation, and nothing of the person stays."""
    erasure_id = f"erasure|{schedule_id(Purpose.REGISTRY_PURGE, f'declaration:{declaration_id}')}"

    async def completed() -> bool:
        erasure = await p.retention_store.get(ERASURES, erasure_id)
        return erasure is not None and erasure["state"] == "completed"

    await eventually(completed, within=60, every=0.5)
    erasure = await p.retention_store.get(ERASURES, erasure_id)
    assert erasure is not None
    assert set(erasure["confirmations"]) == {"consent", "audit", "delivery", "identity"}
    assert erasure["email"] is None

    stored = await registry_of(p.consent_app).get(declaration_id)
    assert stored is not None
    assert stored["purged_at"]
    for value in PERSONAL:
        assert value not in repr(stored)
    consent_store = p.consent_app.state.runtime.store
    for proof_id in proof_ids:
        with pytest.raises(ObjectNotFoundError):
            _ = [chunk async for chunk in await p.objects.get(object_key(proof_id))]
        assert await consent_store.get(PROOF_KEYS, proof_id) is None
    account = await identity.state.runtime.store.get(ACCOUNTS, account_id)
    assert account is not None
    assert account["status"] == "deleted"
    assert account["email"] is None
    for subject in (f"declaration:{declaration_id}", f"account:{account_id}"):
        key_row = await p.audit_store.get(SUBJECT_KEYS, subject)
        assert key_row is not None, subject
        assert key_row["wrapped"] is None, subject

    async def journaled() -> bool:
        types = {str(row["type"]) for row in await p.audit_store.find(JOURNAL)}
        return "retention.registry-purge-completed.v1" in types

    await eventually(journaled, within=30)
    await swept_clean(p, identity, account_id, declaration_id)


async def swept_clean(p: Platform, identity: FastAPI, account_id: str, declaration_id: str) -> None:
    """The sweep of every store, bucket and readable payload. Right after the purge it finds
    references and, as `transient` (not clean), the events already published that still sit in
    their outboxes (the declaration's e-mail and mobile at consent, the activation link's
    address at identity, the certificate's at retention); a day later (`keep_sent_for`) the
    relays have deleted them: the sweep is clean, references only."""
    apps = (p.consent_app, identity, p.audit, p.delivery, p.retention)
    erasure_id = f"erasure|{schedule_id(Purpose.REGISTRY_PURGE, f'declaration:{declaration_id}')}"

    async def certified_and_published() -> bool:
        # The certificate (the last event naming the person) issued, and every event out.
        erasure = await p.retention_store.get(ERASURES, erasure_id)
        if erasure is None or not erasure.get("certificate_id"):
            return False
        for app in apps:
            if await app.state.runtime.store.count(OUTBOX, {"sent": False}):
                return False
        return True

    await eventually(certified_and_published, within=60, every=0.5)
    last: list[Sweep] = []

    async def swept() -> bool:
        last[:] = [await sweep_platform(p.tmp, p.audit, p.s3, account_id, declaration_id)]
        return last[0].clean_but(frozenset({Category.TRANSIENT}))

    with contextlib.suppress(AssertionError):  # the report says what is left
        await eventually(swept, within=30, every=1)
    found = last[0]
    assert found.clean_but(frozenset({Category.TRANSIENT})), found.report()
    assert all("#outbox/" in problem.where for problem in found.problems()), found.report()
    # What each relay deletes a day after sending, on the relay's own rule.
    keep = RelayPolicy().keep_sent_for
    for app in apps:  # each on its own clock (retention's and identity's may run ahead)
        runtime = app.state.runtime
        await purge_sent(runtime.store, runtime.clock.now() + keep + timedelta(hours=1), keep)
    found = await sweep_platform(p.tmp, p.audit, p.s3, account_id, declaration_id)
    assert found.clean, found.report()
    assert found.findings  # the tombstones and journal leaves name the ids


@pytest.mark.slow
async def test_d_never_activated_expires_and_is_destroyed_with_the_dev_clock_offset(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    identity = identity_app(tmp_path / "identity", bus_prefix)
    async with platform(tmp_path, bus_prefix, s3_server, identity, LAPSE_OFFSET) as p:
        async with running(identity) as client:
            declaration_id, account_id, proof_ids = await register(p, identity, client)

        # Identity comes back a month later (dev clock offset): its lapse job runs at start.
        later = p.identity(LAPSE_OFFSET)
        async with running(later):
            registry = registry_of(p.consent_app)

            async def expired() -> bool:
                document = await registry.get(declaration_id)
                return document is not None and document["status"] == "expired"

            await eventually(expired, within=30)
            await nothing_left(p, later, declaration_id, account_id, proof_ids)


@pytest.mark.slow
async def test_e_first_cgu_refused_is_destroyed_without_waiting_five_years(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    identity = identity_app(tmp_path / "identity", bus_prefix)
    async with (
        platform(tmp_path, bus_prefix, s3_server, identity, 0.0) as p,
        running(identity) as client,
    ):
        declaration_id, account_id, proof_ids = await register(p, identity, client)
        link = await activation_url(identity, account_id)
        activated = await client.post(
            "/v1/activations",
            json={"token": httpx.URL(link).params["token"], "password": PASSWORD},
        )
        assert activated.status_code == 200, activated.text
        session = await login(client, str(activated.json()["identifier"]))
        refused = await client.post(
            "/v1/terms/current/refusal", json={}, headers=bearer(session["access_token"])
        )
        assert refused.status_code == 200, refused.text
        await nothing_left(p, identity, declaration_id, account_id, proof_ids)
