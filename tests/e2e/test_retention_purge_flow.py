"""The five-year purge end to end on the real components: a declaration registered with
its proofs → the account activated → the person revokes → retention's clock jumps five years
and a day past the revocation and the scheduler fires → consent purges (tombstone, proofs
crypto-shredded), identity deletes the account (tombstone), audit shreds the subjects' keys →
the registry holds a tombstone only, a ciphertext copy of a proof saved before the purge can no
longer be decrypted, and audit's journal still verifies against its signed checkpoints.

Real RabbitMQ and SeaweedFS; identity, consent, audit and retention apps in this process.
Retention runs on a manual clock (the five years); the others on the real one. The activation
link is read from identity's outbox: e-mails are not what this flow is about.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from audit.main import create_app as create_audit
from audit.service import CHECKPOINTS, JOURNAL, Journal
from audit.settings import Settings as AuditSettings
from audit.vault import SUBJECT_KEYS, PayloadState
from audit.verify import verify_journal
from consent.proofs import PROOF_KEYS, object_key
from consent.repository import DECLARATIONS, PROOFS
from delivery.main import create_app as create_delivery
from identity.records import ACCOUNTS
from retention.domain import Purpose, schedule_id
from retention.erasure import ErasureState
from retention.main import create_app as create_retention
from retention.repository import ERASURES, SCHEDULES
from retention.service import Retention
from retention.settings import Settings as RetentionSettings
from shared.clock import ManualClock, SystemClock
from shared.crypto import load_or_create_signing_ring
from shared.messaging.outbox import OUTBOX
from shared.objects import ObjectNotFoundError, ObjectStore
from shared.runtime import ServiceRuntime
from shared.store.port import DocumentStore, from_iso
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import (
    LOOKUP,
    PASSWORD,
    PERSONAL,
    consent_for,
    login,
    office_token,
)
from tests.integration.consent.support import ready_bucket, registry_of
from tests.integration.delivery.test_delivery_service import settings as delivery_settings
from tests.integration.identity.support import (
    activation_url,
    identity_app,
    identity_of,
)
from tests.support.services import eventually, running, service_env
from tests.support.stack import (
    bearer,
    bring_first_terms_into_force,
    identity_http_for,
    verifier_for,
)
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration

COMPLETED = ErasureState.COMPLETED
PURGE_EVENTS = (
    "retention.declaration-purge-requested.v1",
    "delivery.registry-copy-purged.v1",
    "consent.declaration-purged.v1",
    "identity.account-deleted.v1",
    "audit.subject-keys-shredded.v1",
    "retention.registry-purge-completed.v1",
)


async def _read(objects: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await objects.get(key)])


async def _replay(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, "personal data left after the purge"


@pytest.mark.slow
async def test_revoked_declaration_purged_five_years_later_leaves_tombstones_and_a_valid_journal(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    identity = identity_app(tmp_path / "identity", bus_prefix)
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
    audit_settings = AuditSettings(
        **service_env(tmp_path / "audit", bus_prefix),
        kek_file=tmp_path / "audit-kek.json",
        signing_key_file=tmp_path / "audit-signing.json",
        checkpoint_interval_seconds=0.5,
    )
    audit = create_audit(audit_settings)
    clock = ManualClock(SystemClock().now())
    audit_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=audit), base_url="http://audit"
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
        ),
        clock=clock,
        audit_http=audit_http,
    )
    delivery = create_delivery(
        delivery_settings(tmp_path / "delivery", bus_prefix, s3_server),
        token_verifier=verifier_for(identity, "delivery"),
        audit_http=audit_http,
        consent_http=httpx.AsyncClient(
            transport=httpx.ASGITransport(app=consent), base_url="http://consent"
        ),
        identity_http=identity_http_for(identity),
    )
    retention: Retention = retention_app.state.retention
    retention_store = retention_app.state.runtime.store
    consent_runtime: ServiceRuntime = consent.state.runtime
    registry = registry_of(consent)
    journal: Journal = audit.state.journal
    async with (
        running(identity) as identity_client,
        running(consent) as consent_client,
        running(audit),
        running(delivery),
        running(retention_app),
    ):
        await ready_bucket(consent)
        await ready_bucket(delivery)
        await ready_bucket(retention_app)
        await bring_first_terms_into_force(retention_app, clock)
        objects = consent_runtime.objects
        assert objects is not None
        office = bearer(await office_token(identity, identity_client, office_id="etude-purge"))

        # Registered with its proofs, then activated by the person.
        body, content_type = multipart_body(
            natural_declaration(SystemClock().now().date()), NATURAL_FILES
        )
        created = await consent_client.post(
            "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
        )
        assert created.status_code == 201, created.text
        declaration_id = str(created.json()["id"])

        async def linked() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["account_id"] is not None

        await eventually(linked, within=30)
        document = await registry.get(declaration_id)
        assert document is not None
        account_id = str(document["account_id"])
        proof_ids = [str(p) for p in document["proof_ids"]]
        assert len(proof_ids) == len(NATURAL_FILES)
        link = await activation_url(identity, account_id)
        activated = await identity_client.post(
            "/v1/activations",
            json={"token": httpx.URL(link).params["token"], "password": PASSWORD},
        )
        assert activated.status_code == 200, activated.text
        identifier = str(activated.json()["identifier"])
        first = await login(identity_client, identifier)
        accepted = await identity_client.post(
            "/v1/terms/current/acceptance", json={}, headers=bearer(first["access_token"])
        )
        assert accepted.status_code == 200, accepted.text

        async def answers(status: str) -> bool:
            lookup = await consent_client.post("/v1/registry/search", json=LOOKUP, headers=office)
            assert lookup.status_code == 200, lookup.text
            return bool(lookup.json().get("status") == status)

        await eventually(lambda: answers("active"), within=30)

        # What a backup taken now would hold: each proof's ciphertext and wrapped DEK.
        saved: dict[str, bytes] = {}
        wrapped: dict[str, str] = {}
        for proof_id in proof_ids:
            saved[proof_id] = await _read(objects, object_key(proof_id))
            key_row = await consent_runtime.store.get(PROOF_KEYS, proof_id)
            assert key_row is not None
            wrapped[proof_id] = str(key_row["wrapped"]["ciphertext"])
            plain = b"".join([c async for c in await registry.open_proof(proof_id)])
            assert plain in {content for _name, content in NATURAL_FILES.values()}

        # The person revokes.
        person = bearer((await login(identity_client, identifier))["access_token"])
        revoked = await consent_client.post(
            "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
        )
        assert revoked.status_code == 200, revoked.text
        await eventually(lambda: answers("revoked"), within=30)

        purge = schedule_id(Purpose.REGISTRY_PURGE, f"declaration:{declaration_id}")

        async def scheduled() -> bool:
            return await retention_store.get(SCHEDULES, purge) is not None

        await eventually(scheduled, within=30)
        schedule = await retention_store.get(SCHEDULES, purge)
        assert schedule is not None
        revoked_at = from_iso(schedule["data"]["revoked_at"])
        due = from_iso(schedule["due_at"])
        assert due.year - revoked_at.year == 5
        assert abs(due - revoked_at - timedelta(days=5 * 365)) <= timedelta(days=2)

        # A day before the five years: nothing; five years and a day after: the purge.
        clock.set(due - timedelta(days=1))
        assert (await retention.schedules.run_due()).fired == 0
        clock.set(due + timedelta(days=1))
        assert (await retention.schedules.run_due()).fired == 1
        erasure_id = f"erasure|{schedule['_id']}"

        async def purged() -> bool:
            erasure = await retention_store.get(ERASURES, erasure_id)
            return erasure is not None and erasure["state"] == COMPLETED

        await eventually(purged, within=30)
        erasure = await retention_store.get(ERASURES, erasure_id)
        assert erasure is not None
        # Delivery's copy of the registry goes too (and the acts, had any been served).
        assert set(erasure["confirmations"]) == {"consent", "audit", "identity", "delivery"}
        assert not erasure["alerted"]

        # The registry: a tombstone only (ids, dates, statuses), never the person.
        stored = await registry.get(declaration_id)
        assert stored is not None
        assert stored["status"] == "revoked"
        assert stored["purged_at"]
        assert "person" not in stored
        assert "keys" not in stored
        _no_personal_data(repr(stored))
        for proof in await consent_runtime.store.find(PROOFS, {"declaration_id": declaration_id}):
            assert proof["shredded_at"]
            assert "sha256" not in proof
        lookup = await consent_client.post("/v1/registry/search", json=LOOKUP, headers=office)
        assert lookup.status_code == 200, lookup.text
        # The lookup keys were derived from the person's identity: gone with it.
        assert lookup.json() == {"found": False}
        seen = await consent_client.get(f"/v1/declarations/{declaration_id}", headers=office)
        assert seen.status_code == 200, seen.text
        tombstone = seen.json()
        assert tombstone["id"] == declaration_id
        assert tombstone["account_id"] == account_id
        assert tombstone["status"] == "revoked"
        assert tombstone["person"] is None
        assert tombstone["registered_at"]
        assert tombstone["purged_at"]
        _no_personal_data(seen.text)

        # The proofs: objects gone, DEKs gone from every collection, an old copy is noise.
        for proof_id in proof_ids:
            with pytest.raises(ObjectNotFoundError):
                await _read(objects, object_key(proof_id))
            assert await consent_runtime.store.get(PROOF_KEYS, proof_id) is None
            for collection in (DECLARATIONS, PROOFS, PROOF_KEYS, OUTBOX):
                for row in await consent_runtime.store.find(collection):
                    assert wrapped[proof_id] not in repr(row), collection
            await objects.put(object_key(proof_id), _replay(saved[proof_id]))
            with pytest.raises(LookupError):
                await registry.open_proof(proof_id)

        # Identity: the account is a tombstone, nobody logs in with it any more.
        account = await identity_of(identity).ctx.store.get(ACCOUNTS, account_id)
        assert account is not None
        assert account["status"] == "deleted"
        assert account["email"] is None
        assert account["password_hash"] is None
        _no_personal_data(repr(account))
        refused = await identity_client.post(
            "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
        )
        assert refused.status_code in {400, 401}, refused.text

        # Audit: the subjects' keys are shredded, their payloads unreadable; the entries stay.
        audit_store: DocumentStore = audit.state.runtime.store
        for subject in (f"declaration:{declaration_id}", f"account:{account_id}"):
            key_row = await audit_store.get(SUBJECT_KEYS, subject)
            assert key_row is not None, subject
            assert key_row["wrapped"] is None, subject
            [entry, *_] = await audit_store.find(JOURNAL, {"subject": subject}, limit=1)
            assert (await journal.payload(entry)).state is PayloadState.SHREDDED

        async def journaled() -> bool:
            types = {str(row["type"]) for row in await audit_store.find(JOURNAL)}
            return set(PURGE_EVENTS) <= types

        await eventually(journaled, within=30)
        ring = load_or_create_signing_ring(
            audit_settings.signing_key_file, audit_settings.checkpoint_origin, SystemClock()
        )

        async def checkpointed() -> bool:
            # Every entry, the purge's included, under a signed checkpoint.
            sizes = [int(c["size"]) for c in await audit_store.find(CHECKPOINTS)]
            return max(sizes, default=0) == await audit_store.count(JOURNAL)

        await eventually(checkpointed, within=30, every=0.5)
        report = await verify_journal(
            audit_store, ring.published, origin=audit_settings.checkpoint_origin
        )
        assert report.ok, report.findings
        assert report.entries == await audit_store.count(JOURNAL)
        assert report.checkpoints > 0
    await audit_http.aclose()
