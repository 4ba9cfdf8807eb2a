"""A declaration never activated expires when identity says its account lapsed: expired, never
active, `consent.declaration-lapsed.v1` emitted once; it may then be purged (proofs shredded).
An activated or already ended declaration ignores the event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consent.domain import Transition, next_status
from consent.proofs import PROOF_KEYS, object_key
from shared.contracts.consent import DeclarationStatus
from shared.contracts.identity import AccountActivationLapsedV1, TermsAcceptedV1
from tests.unit.consent.conftest import Harness

LAPSED = "consent.declaration-lapsed.v1"
EXPIRED_LINK = datetime(2031, 4, 13, 8, 0, tzinfo=UTC)
LAPSED_AT = EXPIRED_LINK + timedelta(days=30)


def lapsed(declaration_id: str, account: str = "acc-1") -> AccountActivationLapsedV1:
    return AccountActivationLapsedV1(
        account_id=account,
        declaration_id=declaration_id,
        activation_expired_at=EXPIRED_LINK,
        lapsed_at=LAPSED_AT,
    )


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


def test_only_a_registered_declaration_lapses() -> None:
    assert next_status(DeclarationStatus.REGISTERED, Transition.LAPSE) is DeclarationStatus.EXPIRED
    for status in DeclarationStatus:
        if status is not DeclarationStatus.REGISTERED:
            assert next_status(status, Transition.LAPSE) is None, status


async def test_a_declaration_never_activated_expires_with_its_event(h: Harness) -> None:
    document = await h.register()
    envelope = h.identity_event(lapsed(document["_id"]))
    assert await h.consume(envelope)
    assert not await h.consume(envelope)  # a redelivery changes nothing

    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert stored["status"] == "expired"
    assert stored["account_id"] == "acc-1"
    assert stored["expired_at"].startswith("2031-05-13")
    assert "active_at" not in stored
    assert "live_key" not in stored  # the person may be declared again
    [event] = await h.events(LAPSED)
    assert event.payload == {
        "declaration_id": document["_id"],
        "account_id": "acc-1",
        "activation_expired_at": "2031-04-13T08:00:00Z",
        "lapsed_at": "2031-05-13T08:00:00Z",
    }
    assert event.subject == f"declaration:{document['_id']}"


async def test_a_lapsed_declaration_is_purged_proofs_and_all(h: Harness) -> None:
    document = await h.register()
    await h.deliver(lapsed(document["_id"]))
    await h.registry.purge(document["_id"])
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert "person" not in stored
    assert "keys" not in stored
    for proof_id in document["proof_ids"]:
        assert await h.store.get(PROOF_KEYS, proof_id) is None
        assert object_key(proof_id) not in h.objects.objects


async def test_an_active_declaration_ignores_a_late_lapse(h: Harness) -> None:
    document = await h.register()
    await h.deliver(
        TermsAcceptedV1(
            account_id="acc-1",
            declaration_id=document["_id"],
            terms_version=1,
            content_hash="h",
            accepted_at=datetime(2031, 4, 11, 9, 0, tzinfo=UTC),
        )
    )
    assert not await h.deliver(lapsed(document["_id"]))
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert stored["status"] == "active"
    assert await h.events(LAPSED) == []
