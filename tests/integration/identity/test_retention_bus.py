"""Retention's requests on the real bus: identity's `identity.retention` queue purges an
account's contact data and deletes another, once each although both requests arrive twice,
and the confirmations leave through the outbox."""

from __future__ import annotations

from pathlib import Path

from shared.clock import SystemClock
from shared.contracts.envelope import new_envelope
from shared.contracts.retention import AccountDeletionRequestedV1, ContactDataPurgeRequestedV1
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import Topology
from shared.runtime import ServiceRuntime
from tests.fixtures.rabbit import AMQP_URL
from tests.integration.identity.support import declare, identity_app, outbox_envelopes
from tests.support.services import eventually, running

CONFIRMATIONS = ("identity.contact-data-purged.v1", "identity.account-deleted.v1")


async def test_purge_and_deletion_requests_on_the_bus_are_applied_and_confirmed_once(
    tmp_path: Path, bus_prefix: str
) -> None:
    clock = SystemClock()
    app = identity_app(tmp_path, bus_prefix)
    async with running(app):
        purged_id = await declare(app, "decl-ret-1")
        deleted_id = await declare(app, "decl-ret-2")
        purge = new_envelope(
            ContactDataPurgeRequestedV1(
                erasure_id="er-1", account_id=purged_id, requested_at=clock.now()
            ),
            subject=f"account:{purged_id}",
            actor="service:retention",
            clock=clock,
        )
        deletion = new_envelope(
            AccountDeletionRequestedV1(
                erasure_id="er-2",
                account_id=deleted_id,
                declaration_id="decl-ret-2",
                requested_at=clock.now(),
            ),
            subject="declaration:decl-ret-2",
            actor="service:retention",
            clock=clock,
        )
        runtime: ServiceRuntime = app.state.runtime
        broker = create_broker(AMQP_URL)
        await broker.connect()
        try:
            publisher = EventPublisher(broker, Topology(bus_prefix))
            for envelope in (purge, purge, deletion, deletion):
                await publisher.publish(envelope)

            async def both_confirmed_and_sent() -> bool:
                rows = await runtime.store.find(OUTBOX, {"sent": True})
                sent = [r for r in rows if r["envelope"]["type"] in CONFIRMATIONS]
                inbox = await runtime.store.count("inbox", {"consumer": "identity.retention"})
                return len(sent) == 2 and inbox == 2

            await eventually(both_confirmed_and_sent, within=20)
        finally:
            await broker.stop()
        [purged] = await outbox_envelopes(app, CONFIRMATIONS[0])
        [deleted] = await outbox_envelopes(app, CONFIRMATIONS[1])
        purged_account = await runtime.store.get("accounts", purged_id)
        deleted_account = await runtime.store.get("accounts", deleted_id)

    assert purged.payload["erasure_id"] == "er-1"
    assert purged.causation_id == purge.event_id
    assert deleted.payload["erasure_id"] == "er-2"
    assert deleted.causation_id == deletion.event_id
    assert purged_account is not None
    assert purged_account["email"] is None
    assert purged_account["status"] == "pending_activation"
    assert deleted_account is not None
    assert deleted_account["status"] == "deleted"
    assert deleted_account["email"] is None
