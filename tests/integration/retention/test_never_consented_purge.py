"""A declaration never active is destroyed at once, on the real bus (RabbitMQ), SQLite stores and
SeaweedFS: identity, consent, audit and retention apps in this process.

- (d) never activated: identity's clock jumps past the activation link's expiry plus the lapse
  delay; its sweep lapses the account, consent expires the declaration (never active), and
  retention's purge, due at once, destroys the proofs (S3 objects and wrapped keys), the
  declaration's personal data and the account.
- (e) first CGU refused: the person activates the account, then refuses the first version;
  retention's purge is due at the refusal's instant, not five years later, and destroys the same.

Each ends with the erasure completed with consent's, audit's and identity's confirmations and
`retention.registry-purge-completed.v1` journaled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from audit.main import create_app as create_audit
from audit.service import JOURNAL, Journal
from audit.settings import Settings as AuditSettings
from audit.vault import SUBJECT_KEYS, PayloadState
from consent.proofs import PROOF_KEYS, object_key
from consent.repository import PROOFS
from identity.records import ACCOUNTS, LINKS
from identity.service import Identity
from retention.domain import Purpose, schedule_id
from retention.erasure import ErasureState
from retention.main import create_app as create_retention
from retention.repository import ERASURES, SCHEDULES
from retention.service import Retention
from retention.settings import Settings as RetentionSettings
from shared.clock import ManualClock, SystemClock
from shared.objects import ObjectNotFoundError, ObjectStore
from shared.store.port import DocumentStore, from_iso
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import PASSWORD, PERSONAL, consent_for, login, office_token
from tests.integration.consent.support import ready_bucket, registry_of
from tests.integration.delivery.test_delivery_service import settings as delivery_settings
from tests.integration.identity.support import activation_url, identity_app, identity_of
from tests.support.consent_registry import delivery_on_events
from tests.support.services import eventually, running, service_env
from tests.support.stack import bearer, bring_first_terms_into_force
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration

LINK_TTL = timedelta(hours=72)
LAPSE_DELAY = timedelta(days=30)


@dataclass
class Stack:
    identity_app: FastAPI
    identity: httpx.AsyncClient
    identity_clock: ManualClock
    consent_app: FastAPI
    consent: httpx.AsyncClient
    objects: ObjectStore
    consent_store: DocumentStore
    audit_store: DocumentStore
    journal: Journal
    retention: Retention
    retention_store: DocumentStore
    retention_clock: ManualClock
    office: dict[str, str]

    @property
    def identity_service(self) -> Identity:
        return identity_of(self.identity_app)

    async def register(self) -> tuple[str, str, list[str]]:
        """An office registers a declaration with its proofs; its id, the account identity
        opened for it, and its proofs' ids (each checked present in S3 with its wrapped key)."""
        body, content_type = multipart_body(
            natural_declaration(SystemClock().now().date()), NATURAL_FILES
        )
        created = await self.consent.post(
            "/v1/declarations",
            content=body,
            headers={"Content-Type": content_type, **self.office},
        )
        assert created.status_code == 201, created.text
        declaration_id = str(created.json()["id"])
        registry = registry_of(self.consent_app)

        async def linked() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["account_id"] is not None

        await eventually(linked, within=30)
        document = await registry.get(declaration_id)
        assert document is not None
        proof_ids = [str(p) for p in document["proof_ids"]]
        assert len(proof_ids) == len(NATURAL_FILES)
        for proof_id in proof_ids:
            assert await _read(self.objects, object_key(proof_id))
            assert await self.consent_store.get(PROOF_KEYS, proof_id) is not None
        return declaration_id, str(document["account_id"]), proof_ids

    async def purged_at_once(
        self, declaration_id: str, account_id: str, proof_ids: list[str], ended_by: str
    ) -> None:
        """The purge is due when the declaration ended: fired with no clock jump; then every
        participant confirms and nothing of the person is left."""
        purge = schedule_id(Purpose.REGISTRY_PURGE, f"declaration:{declaration_id}")

        async def scheduled() -> bool:
            return await self.retention_store.get(SCHEDULES, purge) is not None

        await eventually(scheduled, within=30)
        schedule = await self.retention_store.get(SCHEDULES, purge)
        assert schedule is not None
        assert schedule["data"]["ended_by"] == ended_by
        assert schedule["data"]["account_id"] == account_id
        ended_at = from_iso(schedule["data"]["revoked_at"])
        assert from_iso(schedule["due_at"]) == ended_at  # not five years later
        self.retention_clock.set(max(self.retention_clock.now(), ended_at))
        assert (await self.retention.schedules.run_due()).fired == 1
        erasure_id = f"erasure|{purge}"

        async def completed() -> bool:
            erasure = await self.retention_store.get(ERASURES, erasure_id)
            return erasure is not None and erasure["state"] == ErasureState.COMPLETED

        await eventually(completed, within=30)
        erasure = await self.retention_store.get(ERASURES, erasure_id)
        assert erasure is not None
        assert set(erasure["confirmations"]) == {"consent", "audit", "delivery", "identity"}
        assert erasure["email"] is None
        assert not erasure["alerted"]

        # Consent: a tombstone, the proofs' objects and wrapped keys gone.
        stored = await registry_of(self.consent_app).get(declaration_id)
        assert stored is not None
        assert stored["purged_at"]
        assert "person" not in stored
        assert "keys" not in stored
        _no_personal_data(repr(stored))
        for proof_id in proof_ids:
            with pytest.raises(ObjectNotFoundError):
                await _read(self.objects, object_key(proof_id))
            assert await self.consent_store.get(PROOF_KEYS, proof_id) is None
        for proof in await self.consent_store.find(PROOFS, {"declaration_id": declaration_id}):
            assert proof["shredded_at"]
            assert "sha256" not in proof

        # Identity: the account is a tombstone, its links gone.
        account = await self.identity_service.ctx.store.get(ACCOUNTS, account_id)
        assert account is not None
        assert account["status"] == "deleted"
        assert account["email"] is None
        _no_personal_data(repr(account))
        assert await self.identity_service.ctx.store.find(LINKS, {"account_id": account_id}) == []

        # Audit: both subjects' keys shredded; the completion journaled.
        subjects = (f"declaration:{declaration_id}", f"account:{account_id}")
        for subject in subjects:
            key_row = await self.audit_store.get(SUBJECT_KEYS, subject)
            assert key_row is not None, subject
            assert key_row["wrapped"] is None, subject

        async def journaled() -> bool:
            types = {str(row["type"]) for row in await self.audit_store.find(JOURNAL)}
            return "retention.registry-purge-completed.v1" in types

        await eventually(journaled, within=30)
        # Every entry of the two subjects is shredded, and no payload still readable in the
        # journal holds the person's identity or e-mail.
        for entry in await self.audit_store.find(JOURNAL):
            opened = await self.journal.payload(entry)
            if entry["subject"] in subjects:
                assert opened.state is PayloadState.SHREDDED, entry["type"]
            elif opened.state is PayloadState.AVAILABLE:
                _no_personal_data(repr(opened.record))


async def _read(objects: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await objects.get(key)])


def _no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, "personal data left after the purge"


@asynccontextmanager
async def stack(tmp_path: Path, bus_prefix: str, s3_server: S3Server) -> AsyncIterator[Stack]:
    identity_clock = ManualClock(SystemClock().now())
    identity = identity_app(tmp_path / "identity", bus_prefix, clock=identity_clock)
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
    audit = create_audit(
        AuditSettings(
            **service_env(tmp_path / "audit", bus_prefix),
            kek_file=tmp_path / "audit-kek.json",
            signing_key_file=tmp_path / "audit-signing.json",
        )
    )
    retention_clock = ManualClock(SystemClock().now())
    audit_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=audit), base_url="http://audit"
    )
    retention_settings: dict[str, Any] = {
        "kek_file": tmp_path / "retention-kek.json",
        "signing_key_file": tmp_path / "retention-signing.json",
        "s3_endpoint": s3_server.endpoint,
        "s3_access_key": SecretStr(s3_server.access_key),
        "s3_secret_key": SecretStr(s3_server.secret_key),
        "s3_bucket": random_bucket_name(),
        "scheduler_interval_seconds": 3600,  # the test fires the scheduler itself
    }
    retention_app = create_retention(
        RetentionSettings(**service_env(tmp_path / "retention", bus_prefix), **retention_settings),
        clock=retention_clock,
        audit_http=audit_http,
    )
    # Delivery holds a copy of the registry (the declaration's e-mail): it purges it too.
    delivery = delivery_on_events(delivery_settings(tmp_path / "delivery", bus_prefix, s3_server))
    try:
        async with (
            running(identity) as identity_client,
            running(consent) as consent_client,
            running(audit),
            running(delivery),
            running(retention_app),
        ):
            await ready_bucket(consent)
            await bring_first_terms_into_force(retention_app, retention_clock)
            objects = consent.state.runtime.objects
            assert objects is not None
            office = bearer(await office_token(identity, identity_client, office_id="etude-nc"))
            yield Stack(
                identity_app=identity,
                identity=identity_client,
                identity_clock=identity_clock,
                consent_app=consent,
                consent=consent_client,
                objects=objects,
                consent_store=consent.state.runtime.store,
                audit_store=audit.state.runtime.store,
                journal=audit.state.journal,
                retention=retention_app.state.retention,
                retention_store=retention_app.state.runtime.store,
                retention_clock=retention_clock,
                office=office,
            )
    finally:
        await audit_http.aclose()


async def test_d_a_declaration_never_activated_expires_and_is_destroyed_with_its_account(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with stack(tmp_path, bus_prefix, s3_server) as s:
        declaration_id, account_id, proof_ids = await s.register()
        lapses = s.identity_service.lapses

        # A second before the delay is over: nothing; at its end: the account lapses.
        s.identity_clock.advance(LINK_TTL + LAPSE_DELAY - timedelta(seconds=1))
        assert await lapses.lapse_due() == 0
        s.identity_clock.advance(timedelta(seconds=1))
        assert await lapses.lapse_due() == 1

        registry = registry_of(s.consent_app)

        async def expired() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["status"] == "expired"

        await eventually(expired, within=30)
        document = await registry.get(declaration_id)
        assert document is not None
        assert "active_at" not in document
        await s.purged_at_once(declaration_id, account_id, proof_ids, "never_activated")


async def test_e_a_first_cgu_refused_destroys_proofs_and_account_without_five_years(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with stack(tmp_path, bus_prefix, s3_server) as s:
        declaration_id, account_id, proof_ids = await s.register()
        link = await activation_url(s.identity_app, account_id)
        activated = await s.identity.post(
            "/v1/activations",
            json={"token": httpx.URL(link).params["token"], "password": PASSWORD},
        )
        assert activated.status_code == 200, activated.text
        session = await login(s.identity, str(activated.json()["identifier"]))
        refused = await s.identity.post(
            "/v1/terms/current/refusal", json={}, headers=bearer(session["access_token"])
        )
        assert refused.status_code == 200, refused.text
        assert refused.json()["terminated"] is False

        registry = registry_of(s.consent_app)

        async def refused_in_registry() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["status"] == "refused"

        await eventually(refused_in_registry, within=30)
        await s.purged_at_once(declaration_id, account_id, proof_ids, "refusal")
