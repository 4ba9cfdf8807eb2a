"""Who may read a journal payload, decided per entry (pure rules of `audit.domain`)."""

from __future__ import annotations

from typing import Any

from audit.domain import EntryReaders, event_parties, new_owners
from shared.clock import ManualClock
from shared.contracts.consent import RegistryConsultedV1
from shared.contracts.envelope import Envelope
from tests.unit.audit.conftest import START, event

LOOKUP = RegistryConsultedV1.routing_key()


def made(actor: str, payload: dict[str, Any], event_type: str = "x.y.v1") -> Envelope:
    return event(ManualClock(START), actor=actor, payload=payload, event_type=event_type)


def test_an_event_names_its_actor_and_the_party_fields_of_its_payload() -> None:
    assert event_parties(made("account:a-1", {"office_id": "7"})) == {
        "recipient:a-1",
        "office:7",
    }
    assert event_parties(made("service:notify", {"recipient_account_id": "a-2"})) == {
        "recipient:a-2"
    }
    assert event_parties(made("judicial_authority:j-1", {"office_id": None})) == set()


def test_a_lookup_is_readable_by_its_consulter_and_never_by_the_subjects_owners() -> None:
    lookup = made("office:B", {"office_id": "B"}, LOOKUP)
    readers = EntryReaders.of(lookup)
    assert readers.parties == {"office:B"}
    assert readers.owners_read is False
    assert readers.allowed(frozenset({"office:A", "recipient:x"})) == {"office:B"}


def test_an_ordinary_entry_is_readable_by_its_parties_and_the_owners_of_its_subject() -> None:
    readers = EntryReaders.of(made("service:notify", {"act_id": "1"}))
    assert readers.parties == set()
    assert readers.allowed(frozenset({"office:A", "recipient:x"})) == {"office:A", "recipient:x"}


def test_readers_round_trip_and_a_legacy_record_has_none() -> None:
    readers = EntryReaders(frozenset({"office:A"}), owners_read=True)
    assert EntryReaders.from_document(readers.to_document()) == readers
    assert EntryReaders.from_document({"payload": {}, "salt": "00"}) is None
    assert EntryReaders.from_document({"readers": "office:A", "owners_read": True}) is None


def test_the_founding_event_makes_the_owners() -> None:
    registered = made("office:A", {"declaration_id": "d-1"})
    assert new_owners(registered, frozenset()) == {"office:A"}


def test_a_lookup_adds_no_owner_even_to_a_subject_without_any() -> None:
    lookup = made("office:B", {"office_id": "B"}, LOOKUP)
    assert new_owners(lookup, frozenset()) == set()
    assert new_owners(lookup, frozenset({"office:A"})) == set()


def test_an_office_that_is_not_an_owner_adds_no_owner() -> None:
    # Whatever its type: only the founder, owners and platform actors extend the owners.
    foreign = made("office:B", {"office_id": "B", "account_id": "a-9"})
    assert new_owners(foreign, frozenset({"office:A"})) == set()


def test_platform_actors_and_owners_name_new_owners() -> None:
    owners = frozenset({"office:A"})
    activated = made("service:consent", {"account_id": "a-1"})
    assert new_owners(activated, owners) == {"recipient:a-1"}
    handed = made("office:A", {"recipient_account_id": "a-2"})
    assert new_owners(handed, owners) == {"recipient:a-2"}
    answered = made("operator:op-1", {"account_id": "a-3"})
    assert new_owners(answered, owners) == {"recipient:a-3"}
    by_recipient = made("account:a-1", {"office_id": "C"})
    assert new_owners(by_recipient, owners | {"recipient:a-1"}) == {"office:C"}
