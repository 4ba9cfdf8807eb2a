"""A consent declaration published on the real bus opens exactly one account, even twice."""

from __future__ import annotations

from pathlib import Path

from shared.clock import SystemClock
from shared.contracts.consent import DeclarationRegisteredV1, PersonKind
from shared.contracts.envelope import new_envelope
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from shared.store.port import DocumentStore
from tests.fixtures.rabbit import AMQP_URL
from tests.integration.identity.support import identity_app, outbox_envelopes
from tests.support.services import eventually, running


async def test_a_declaration_on_the_bus_creates_one_account_and_one_activation_link(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    envelope = new_envelope(
        DeclarationRegisteredV1(
            declaration_id="decl-bus-1", person_kind=PersonKind.LEGAL, email="sas@example.org"
        ),
        subject="declaration:decl-bus-1",
        actor="office:etude-1",
        clock=SystemClock(),
    )
    marker = new_envelope(
        DeclarationRegisteredV1(
            declaration_id="decl-bus-2", person_kind=PersonKind.NATURAL, email="m@example.org"
        ),
        subject="declaration:decl-bus-2",
        actor="office:etude-1",
        clock=SystemClock(),
    )
    async with running(app):
        broker = create_broker(AMQP_URL)
        await broker.connect()
        try:
            publisher = EventPublisher(broker, Topology(bus_prefix))
            await publisher.publish(envelope)
            await publisher.publish(envelope)  # redelivered: the inbox absorbs it
            # A marker behind the duplicate: the queue is consumed in order, one at a time.
            await publisher.publish(marker)
            store: DocumentStore = app.state.runtime.store

            async def marker_seen() -> bool:
                return await store.count("accounts", {"declaration_id": "decl-bus-2"}) == 1

            await eventually(marker_seen, within=15)
        finally:
            await broker.stop()
        accounts = await store.find("accounts", {"declaration_id": "decl-bus-1"})
        links = [
            e
            for e in await outbox_envelopes(app, "identity.activation-link-issued.v2")
            if e.causation_id == envelope.event_id
        ]
        created = await outbox_envelopes(app, "identity.account-created.v1")

    assert len(accounts) == 1
    assert len(links) == 1
    assert len(created) == 2
    assert links[0].causation_id == envelope.event_id
    assert links[0].correlation_id == envelope.correlation_id
    assert links[0].payload["email"] == "sas@example.org"
    assert created[0].payload["person_kind"] == "legal"
    assert created[0].payload["declaration_id"] == "decl-bus-1"
