"""Delivery follows the person's contact changes: an act deposited after a move is checked and
dated in the new domicile's territory (CPC 664, 662-1), one served before keeps its own; the
notice of an act served after an e-mail or mobile change goes to the new ones; and a late
registration or activation event never brings the old values back."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.consent import (
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    DomicileChangedV1,
    PersonKind,
)
from shared.contracts.identity import EmailChangedV1, MobileChangedV1
from shared.legal_calendar import Territory
from tests.unit.delivery.conftest import Harness


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _moved(harness: Harness, territory: Territory) -> None:
    await harness.deliver(
        DomicileChangedV1(
            declaration_id="decl-1",
            account_id="acc-1",
            territory=territory.value,
            previous_territory=Territory.METROPOLE.value,
            proof_id="proof-9",
            changed_at=harness.clock.now(),
        )
    )


async def test_an_act_deposited_after_a_move_follows_the_new_territory(harness: Harness) -> None:
    # 10:00 in Paris, 04:00 in Guadeloupe: Paris is open.
    harness.clock.set(_at("2031-04-08T08:00:00"))
    before = await harness.served("before")
    await _moved(harness, Territory.GUADELOUPE)
    # The same instant is now outside Guadeloupe's window (06:00-21:00 local): refused.
    refused = await harness.post(key="closed")
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:securact:problem:service-window-closed"
    # 14:00 UTC is 10:00 in Guadeloupe and 16:00 in Paris: both open.
    harness.clock.set(_at("2031-04-08T14:00:00"))
    after = await harness.served("after")
    served = {e.payload["act_id"]: e for e in await harness.events("delivery.act-served.v3")}
    assert served[before].payload["recipient_territory"] == "metropole"
    assert served[after].payload["recipient_territory"] == "guadeloupe"
    assert (await harness.act(before))["recipient_territory"] == "metropole"


async def test_acts_served_after_a_contact_change_name_the_account_and_no_contact(
    harness: Harness,
) -> None:
    """Delivery's copy learns the new contacts; the event carries none of them (notify finds
    the address in its own book, which learns the same changes)."""
    await harness.deliver(
        EmailChangedV1(
            account_id="acc-1",
            declaration_id="decl-1",
            email="nouvelle@example.net",
            changed_at=harness.clock.now(),
        )
    )
    await harness.deliver(
        MobileChangedV1(
            account_id="acc-1",
            declaration_id="decl-1",
            mobile="+590690123456",
            changed_at=harness.clock.now(),
        )
    )
    act_id = await harness.served("after-change")
    [served] = await harness.events("delivery.act-served.v3")
    assert served.payload["act_id"] == act_id
    assert served.payload["recipient_account_id"] == "acc-1"
    assert served.payload["declaration_id"] == "decl-1"
    assert "nouvelle@example.net" not in repr(served.payload)
    assert "+590690123456" not in repr(served.payload)
    copy = await harness.store.get("declarations", "decl-1")
    assert copy is not None
    assert (copy["email"], copy["mobile"]) == ("nouvelle@example.net", "+590690123456")


async def test_a_late_registration_or_activation_never_brings_old_contacts_back(
    harness: Harness,
) -> None:
    await harness.deliver(
        EmailChangedV1(
            account_id="acc-1",
            declaration_id="decl-1",
            email="nouvelle@example.net",
            changed_at=harness.clock.now(),
        )
    )
    await _moved(harness, Territory.MARTINIQUE)
    # The registration and activation again (a replay, or late): the changes stand.
    await harness.deliver(
        DeclarationRegisteredV1(
            declaration_id="decl-1", person_kind=PersonKind.NATURAL, email="acc-1@example.org"
        )
    )
    await harness.deliver(
        DeclarationActivatedV1(
            declaration_id="decl-1",
            account_id="acc-1",
            activated_at=harness.clock.now(),
            terms_version=1,
            scope=["commandement_payer"],
            valid_until=None,
            territory="metropole",
        )
    )
    view = await harness.store.get("declarations", "decl-1")
    assert view is not None
    assert (view["email"], view["territory"]) == ("nouvelle@example.net", "martinique")
