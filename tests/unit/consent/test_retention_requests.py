"""Retention's purge request on consent's `consent.retention` consumer: it runs the purge use
case once, confirms with `consent.declaration-purged.v1`, and never leaves retention waiting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.consumers import QUEUES, RETENTION_QUEUE, retention_handler
from consent.proofs import PROOF_KEYS
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.identity import AccountTerminatedV1, TerminationReason
from shared.contracts.retention import DeclarationPurgeRequestedV1
from shared.messaging.consumer import PermanentFailure
from shared.messaging.inbox import Inbox
from tests.unit.consent.conftest import Harness

PURGED = "consent.declaration-purged.v1"


def purge_request(h: Harness, declaration_id: str, erasure_id: str = "er-1") -> Envelope:
    return new_envelope(
        DeclarationPurgeRequestedV1(
            erasure_id=erasure_id,
            declaration_id=declaration_id,
            revoked_at=datetime(2026, 4, 10, tzinfo=UTC),
            requested_at=h.clock.now(),
        ),
        subject=f"declaration:{declaration_id}",
        actor="service:retention",
        clock=h.clock,
    )


async def handle(h: Harness, envelope: Envelope) -> None:
    inbox = Inbox(h.store, RETENTION_QUEUE, h.clock, transaction=h.outbox.transaction)
    await retention_handler(h.consent.purge, inbox).handler(envelope)


async def ended_declaration(h: Harness) -> dict[str, Any]:
    document = await h.register()
    await h.deliver(
        AccountTerminatedV1(
            account_id="acc-1",
            declaration_id=document["_id"],
            terminated_at=h.clock.now(),
            reason=TerminationReason.RECIPIENT_REQUEST,
        )
    )
    return document


def test_queues_list_the_identity_and_retention_queues_with_their_bindings() -> None:
    assert QUEUES["consent.retention"] == ("retention.declaration-purge-requested.v1",)
    assert "identity.account-terminated.v1" in QUEUES["consent.identity"]


async def test_a_purge_request_purges_the_declaration_and_confirms_once(h: Harness) -> None:
    document = await ended_declaration(h)
    request = purge_request(h, document["_id"])

    await handle(h, request)
    await handle(h, request)  # redelivered

    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert stored["purged_at"]
    assert "person" not in stored
    for proof_id in document["proof_ids"]:
        assert await h.store.get(PROOF_KEYS, proof_id) is None
    [confirmation] = await h.events(PURGED)
    assert confirmation.payload["declaration_id"] == document["_id"]
    assert {p["proof_id"] for p in confirmation.payload["proofs"]} == set(document["proof_ids"])


async def test_a_request_for_an_already_purged_declaration_confirms_again(h: Harness) -> None:
    document = await ended_declaration(h)
    first = await h.registry.purge(document["_id"])
    request = purge_request(h, document["_id"], erasure_id="er-2")

    await handle(h, request)
    await handle(h, request)  # the same request again: no third event

    original, again = await h.events(PURGED)
    assert again.payload["purged_at"] == original.payload["purged_at"]
    assert again.causation_id == request.event_id
    assert {p["proof_id"] for p in again.payload["proofs"]} == set(document["proof_ids"])
    assert all(p["dek_id"] is None for p in again.payload["proofs"])
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert stored["purged_at"] == first["purged_at"]


async def test_a_purge_request_for_a_live_declaration_is_refused_for_good(h: Harness) -> None:
    document = await h.register()
    with pytest.raises(PermanentFailure):
        await handle(h, purge_request(h, document["_id"]))
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert "person" in stored
    assert await h.events(PURGED) == []


async def test_a_purge_request_for_an_unknown_declaration_is_refused_for_good(
    h: Harness,
) -> None:
    with pytest.raises(PermanentFailure):
        await handle(h, purge_request(h, "decl-unknown"))


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness
