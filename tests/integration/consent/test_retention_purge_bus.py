"""Retention's purge request on the real bus: consent's `consent.retention` queue runs the
purge use case once (the request delivered twice) and its confirmation leaves through the
outbox."""

from __future__ import annotations

from pathlib import Path

from consent.proofs import PROOF_KEYS, object_key
from shared.clock import SystemClock
from shared.contracts.envelope import new_envelope
from shared.contracts.identity import AccountTerminatedV1, TerminationReason
from shared.contracts.retention import DeclarationPurgeRequestedV1
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import Topology
from shared.runtime import ServiceRuntime
from tests.fixtures.rabbit import AMQP_URL
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import (
    consent_app,
    outbox_envelopes,
    ready_bucket,
    registry_of,
)
from tests.support.services import eventually, running
from tests.unit.consent.support import NATURAL_FILES, Tokens, multipart_body, natural_declaration

PURGED = "consent.declaration-purged.v1"


async def test_a_purge_request_on_the_bus_purges_once_and_confirms(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    clock = SystemClock()
    tokens = Tokens(clock)
    app = consent_app(tmp_path, bus_prefix, s3_server, token_verifier=tokens.verifier())
    async with running(app) as client:
        await ready_bucket(app)
        body, content_type = multipart_body(natural_declaration(clock.now().date()), NATURAL_FILES)
        created = await client.post(
            "/v1/declarations",
            content=body,
            headers={"Content-Type": content_type, **tokens.office("etude-1")},
        )
        assert created.status_code == 201, created.text
        declaration_id = created.json()["id"]
        registry = registry_of(app)
        runtime: ServiceRuntime = app.state.runtime
        assert runtime.objects is not None
        document = await registry.get(declaration_id)
        assert document is not None
        terminated = new_envelope(
            AccountTerminatedV1(
                account_id="acc-ret-1",
                declaration_id=declaration_id,
                terminated_at=clock.now(),
                reason=TerminationReason.RECIPIENT_REQUEST,
            ),
            subject="account:acc-ret-1",
            actor="account:acc-ret-1",
            clock=clock,
        )
        request, again = (
            new_envelope(
                DeclarationPurgeRequestedV1(
                    erasure_id=erasure_id,
                    declaration_id=declaration_id,
                    revoked_at=clock.now(),
                    requested_at=clock.now(),
                ),
                subject=f"declaration:{declaration_id}",
                actor="service:retention",
                clock=clock,
            )
            for erasure_id in ("er-int-1", "er-int-2")
        )
        broker = create_broker(AMQP_URL)
        await broker.connect()
        try:
            publisher = EventPublisher(broker, Topology(bus_prefix))
            await publisher.publish(terminated)

            async def ended() -> bool:
                current = await registry.get(declaration_id)
                return current is not None and current["status"] == "terminated"

            await eventually(ended, within=15)
            await publisher.publish(request)
            await publisher.publish(request)  # redelivered: the inbox absorbs it
            # Retention asking again (another erasure): confirmed again, nothing purged twice.
            await publisher.publish(again)

            async def confirmed_and_sent() -> bool:
                rows = await runtime.store.find(OUTBOX, {"sent": True})
                sent = [r for r in rows if r["envelope"]["type"] == PURGED]
                inbox = await runtime.store.count("inbox", {"consumer": "consent.retention"})
                return len(sent) == 2 and inbox == 2

            await eventually(confirmed_and_sent, within=20)
        finally:
            await broker.stop()
        confirmation, repeated = await outbox_envelopes(app, PURGED)
        assert confirmation.payload["declaration_id"] == declaration_id
        assert all(p["wrapped_key_sha256"] for p in confirmation.payload["proofs"])
        assert repeated.causation_id == again.event_id
        assert repeated.payload["purged_at"] == confirmation.payload["purged_at"]
        purged = await registry.get(declaration_id)
        assert purged is not None
        assert purged["purged_at"]
        assert "person" not in purged
        for proof_id in document["proof_ids"]:
            assert await runtime.store.get(PROOF_KEYS, proof_id) is None
            assert not await runtime.objects.exists(object_key(proof_id))
