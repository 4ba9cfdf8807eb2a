"""Consent as a process: HTTP upload into real SeaweedFS (encrypted), identity's events over
real RabbitMQ driving the lifecycle (twice and out of order), registry lookups, revocation,
proof download, purge; and the captured logs never name the person."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from consent.main import create_app
from consent.proofs import PROOF_KEYS, object_key
from shared.clock import SystemClock
from shared.contracts.envelope import new_envelope
from shared.contracts.identity import AccountCreatedV1, AccountRole, TermsAcceptedV1
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import Topology
from shared.objects import ObjectStore
from shared.runtime import ServiceRuntime
from tests.fixtures.rabbit import AMQP_URL
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import (
    assert_nothing_personal_logged,
    consent_app,
    consent_settings,
    outbox_envelopes,
    ready_bucket,
    registry_of,
    status_of,
)
from tests.support.services import eventually, running
from tests.unit.consent.support import (
    BIRTH,
    EMAIL,
    JPEG,
    NATURAL_FILES,
    NOM,
    PDF,
    PRENOMS,
    Tokens,
    multipart_body,
    natural_declaration,
)

SEARCH = {
    "nom": NOM,
    "prenoms": PRENOMS,
    "date_naissance": BIRTH.isoformat(),
    "purpose": "dossier 2031-77",
}


async def test_declaration_lifecycle_over_real_bus_and_s3(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = SystemClock()
    tokens = Tokens(clock)
    app = consent_app(tmp_path, bus_prefix, s3_server, token_verifier=tokens.verifier())
    today = clock.now().date()
    office = tokens.office("etude-1")
    async with running(app) as client:
        await ready_bucket(app)
        body, content_type = multipart_body(natural_declaration(today), NATURAL_FILES)
        created = await client.post(
            "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
        )
        assert created.status_code == 201, created.text
        declaration_id = created.json()["id"]
        registry = registry_of(app)
        runtime: ServiceRuntime = app.state.runtime
        document = await registry.get(declaration_id)
        assert document is not None

        # At rest: ciphertext in S3, its wrapped key only in consent's store.
        assert runtime.objects is not None
        for proof_id in document["proof_ids"]:
            raw = b"".join([c async for c in await runtime.objects.get(object_key(proof_id))])
            assert raw.startswith(b"SCTA")
            assert PDF not in raw
            assert JPEG not in raw
            wrapped = await runtime.store.get(PROOF_KEYS, proof_id)
            assert wrapped is not None
            assert wrapped["wrapped"]["ciphertext"].encode() not in raw

        # The registration event left through the outbox.
        async def registered_sent() -> bool:
            rows = await runtime.store.find(OUTBOX, {"sent": True})
            return any(r["envelope"]["type"] == "consent.declaration-registered.v1" for r in rows)

        await eventually(registered_sent, within=15)

        # Identity's events, out of order and one of them twice, on the real bus.
        accepted = new_envelope(
            TermsAcceptedV1(
                account_id="acc-int-1",
                declaration_id=declaration_id,
                terms_version=1,
                content_hash="sha256:x",
                accepted_at=clock.now(),
            ),
            subject="account:acc-int-1",
            actor="recipient:acc-int-1",
            clock=clock,
        )
        account = new_envelope(
            AccountCreatedV1(
                account_id="acc-int-1",
                role=AccountRole.RECIPIENT,
                declaration_id=declaration_id,
                person_kind="natural",
            ),
            subject="account:acc-int-1",
            actor="service:identity",
            clock=clock,
        )
        broker = create_broker(AMQP_URL)
        await broker.connect()
        try:
            publisher = EventPublisher(broker, Topology(bus_prefix))
            await publisher.publish(accepted)
            await publisher.publish(accepted)
            await publisher.publish(account)

            async def linked_and_active() -> bool:
                current = await registry.get(declaration_id)
                return (
                    current is not None
                    and current["status"] == "active"
                    and current["account_id"] == "acc-int-1"
                    and await runtime.store.count("inbox") == 2
                )

            await eventually(linked_and_active, within=20)
        finally:
            await broker.stop()
        assert len(await outbox_envelopes(app, "consent.declaration-activated.v1")) == 1

        lookup = await client.post("/v1/registry/search", json=SEARCH, headers=office)
        assert lookup.json()["status"] == "active"

        person = tokens.recipient("acc-int-1")
        proof_id = document["proof_ids"][0]
        download = await client.get(f"/v1/me/proofs/{proof_id}", headers=person)
        assert download.status_code == 200
        assert download.content == PDF

        revoked = await client.post(
            "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
        )
        assert revoked.status_code == 200
        lookup = await client.post("/v1/registry/search", json=SEARCH, headers=office)
        assert lookup.json()["status"] == "revoked"
        assert await status_of(client, declaration_id, person) == "revoked"
        [revocation] = await outbox_envelopes(app, "consent.revoked.v1")
        assert revocation.payload["account_id"] == "acc-int-1"

        # Five years later, retention's purge: keys shredded, objects gone, tombstone kept.
        await registry.purge(declaration_id)
        for shredded in document["proof_ids"]:
            assert not await runtime.objects.exists(object_key(shredded))
            assert await runtime.store.get(PROOF_KEYS, shredded) is None
        assert await status_of(client, declaration_id, tokens.office("etude-1")) == "revoked"
        gone = await client.get(f"/v1/me/proofs/{proof_id}", headers=person)
        assert gone.status_code == 410

    assert_nothing_personal_logged(
        caplog.records, [NOM, PRENOMS, "Éloïse", "Eloise", EMAIL, BIRTH.isoformat(), "19/07/1984"]
    )


async def test_an_upload_refused_midway_leaves_nothing_in_s3(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    app = consent_app(
        tmp_path,
        bus_prefix,
        s3_server,
        token_verifier=tokens.verifier(),
        max_proof_bytes=256 * 1024,
    )
    async with running(app) as client:
        await ready_bucket(app)
        today = SystemClock().now().date()
        huge = PDF[:-6] + bytes(600 * 1024) + b"%%EOF\n"
        files = {"id-card": ("cni.pdf", PDF), "address": ("big.pdf", huge)}
        body, content_type = multipart_body(natural_declaration(today), files)

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 16 * 1024):
                yield body[start : start + 16 * 1024]

        response = await client.post(
            "/v1/declarations",
            content=stream(),
            headers={"Content-Type": content_type, **tokens.office()},
        )
        assert response.status_code == 413
        runtime: ServiceRuntime = app.state.runtime
        objects: ObjectStore | None = runtime.objects
        assert objects is not None
        listing = await _keys(objects)
        assert listing == []


async def _keys(objects: ObjectStore) -> list[str]:
    client = objects._client  # the test inspects the bucket as an operator would
    names = await asyncio.to_thread(
        lambda: [o.object_name for o in client.list_objects(objects.bucket, recursive=True)]
    )
    return [str(n) for n in names]


async def test_a_restart_after_downtime_expires_what_fell_due_meanwhile(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    settings = consent_settings(tmp_path, bus_prefix, s3_server)
    before = SystemClock()
    tokens = Tokens(before)
    first = create_app(settings, clock=before, token_verifier=tokens.verifier())
    async with running(first) as client:
        await ready_bucket(first)
        body, content_type = multipart_body(natural_declaration(before.now().date()), NATURAL_FILES)
        created = await client.post(
            "/v1/declarations",
            content=body,
            headers={"Content-Type": content_type, **tokens.office()},
        )
        assert created.status_code == 201, created.text
        declaration_id = created.json()["id"]
    # The service comes back after more than the consent's one-year duration.
    after = SystemClock(timedelta(days=400))
    second = create_app(settings, clock=after, token_verifier=Tokens(after).verifier())
    async with running(second):
        registry = registry_of(second)

        async def expired() -> bool:
            document = await registry.get(declaration_id)
            return document is not None and document["status"] == "expired"

        await eventually(expired, within=10)
        assert len(await outbox_envelopes(second, "consent.declaration-expired.v1")) == 1
