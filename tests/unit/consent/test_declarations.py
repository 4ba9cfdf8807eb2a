"""Consent's typed records: documents stored before them read back and write back unchanged,
the declaration's state changes return their events, an ended consent stays ended, the purge
leaves a tombstone, and a save at a stale version is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consent.declarations import (
    AccountMismatchError,
    Declaration,
    Proof,
    RequestState,
    RestrictionRequest,
)
from consent.repository import DECLARATIONS, declarations
from shared.contracts.consent import (
    ConsentRevokedV1,
    DeclarationActivatedV1,
    DeclarationStatus,
    RestrictionOutcome,
)
from shared.store.port import DocumentStore, VersionConflictError

AT = datetime(2031, 4, 11, 7, 30, tzinfo=UTC)

# A declaration as consent stored it before the typed records (explicit nulls included).
STORED: dict[str, Any] = {
    "_id": "0190a1b2c3d4",
    "status": "registered",
    "person_kind": "natural",
    "person": {
        "kind": "natural",
        "nom": "Quenneville",
        "prenoms": "Éloïse",
        "date_naissance": "1984-07-19",
        "lieu_naissance": "Besançon",
        "domicile": {
            "adresse": "12 rue des Granges",
            "code_postal": "25000",
            "commune": "Besançon",
        },
        "email": "eloise@example.org",
        "mobile": None,
    },
    "keys": {"person": "k1", "place": "k2"},
    "live_key": "k1",
    "scope": ["signification_jugement"],
    "valid_until": "2032-04-10",
    "expires_at": "2032-04-10T22:00:00.000000Z",
    "territory": "metropole",
    "revocation_modalities": "Depuis le portail.",
    "office_id": "etude-1",
    "registered_by": "client-etude-1",
    "registered_at": "2031-04-10T08:00:00.000000Z",
    "account_id": None,
    "proof_ids": ["p1", "p2"],
    "history": [
        {"status": "registered", "at": "2031-04-10T08:00:00.000000Z", "cause": "registration"}
    ],
}


def test_a_declaration_stored_before_the_typed_record_writes_back_unchanged() -> None:
    assert Declaration.model_validate(STORED).document() == STORED
    proof = {
        "_id": "p1",
        "declaration_id": "0190a1b2c3d4",
        "type": "carte_identite",
        "issued_on": "2029-01-01",
        "media_type": "application/pdf",
        "size": 120,
        "sha256": "ab" * 32,
        "received_at": "2031-04-10T08:00:00.000000Z",
    }
    assert Proof.model_validate(proof).document() == proof


def test_activation_links_the_account_and_returns_its_event() -> None:
    declaration = Declaration.model_validate(STORED)
    moved = declaration.activate("acc-1", AT, terms_version=2)
    assert moved is not None
    active, event = moved
    assert (active.status, active.account_id, active.active_at) == (
        DeclarationStatus.ACTIVE,
        "acc-1",
        AT,
    )
    assert active.live_key == "k1"
    assert isinstance(event, DeclarationActivatedV1)
    assert (event.terms_version, event.valid_until, event.territory) == (
        2,
        declaration.valid_until,
        "metropole",
    )
    assert [h.cause for h in active.history] == ["registration", "CGU v2 accepted"]


def test_a_revoked_consent_stays_revoked_whatever_comes_after() -> None:
    activated = Declaration.model_validate(STORED).activate("acc-1", AT, 1)
    assert activated is not None
    moved = activated[0].revoke("acc-1", AT)
    assert moved is not None
    revoked, event = moved
    assert isinstance(event, ConsentRevokedV1)
    assert revoked.live_key is None
    assert "live_key" not in revoked.document()
    assert revoked.activate("acc-1", AT, 1) is None
    assert revoked.revoke("acc-1", AT) is None
    assert revoked.expire() is None
    assert revoked.terminate("acc-1", AT, "recipient_request") is None


def test_an_event_from_another_account_than_the_linked_one_is_refused() -> None:
    linked = Declaration.model_validate({**STORED, "account_id": "acc-1"})
    with pytest.raises(AccountMismatchError, match="another account"):
        linked.activate("acc-2", AT, 1)


def test_the_purge_keeps_a_tombstone_without_personal_data() -> None:
    declaration = Declaration.model_validate({**STORED, "status": "revoked"})
    tombstone, event = declaration.purge(AT, [])
    document = tombstone.document()
    for personal in ("person", "keys", "live_key", "revocation_modalities", "registered_by"):
        assert personal not in document
    assert document["proof_ids"] == ["p1", "p2"]
    assert document["history"] == STORED["history"]
    assert tombstone.purged_at == event.purged_at == AT
    assert tombstone.purge_announced_again().purged_at == AT


def test_an_answer_is_recorded_with_its_event_and_without_the_reason_in_it() -> None:
    request = RestrictionRequest.model_validate(
        {
            "_id": "r1",
            "declaration_id": "d1",
            "account_id": "acc-1",
            "kind": "objection",
            "text": "Je m'oppose.",
            "requested_at": "2031-04-10T08:00:00.000000Z",
            "state": "open",
        }
    )
    answered, event = request.answer(RestrictionOutcome.REFUSED, "Motif.", "op-1", AT)
    assert (answered.state, answered.reason, answered.answered_by) == (
        RequestState.REFUSED,
        "Motif.",
        "op-1",
    )
    assert "Motif." not in event.model_dump_json()


async def test_a_save_at_a_stale_version_is_refused(sqlite_store: DocumentStore) -> None:
    repository = declarations(sqlite_store)
    added = await repository.add(sqlite_store, Declaration.model_validate(STORED), AT)
    assert added.version is not None
    assert (await sqlite_store.get(DECLARATIONS, added.id) or {}).get("updated_at")
    first = await repository.save(sqlite_store, added.model_copy(update={"account_id": "a"}), AT)
    assert first.version != added.version
    with pytest.raises(VersionConflictError):
        await repository.save(sqlite_store, added.model_copy(update={"account_id": "b"}), AT)
