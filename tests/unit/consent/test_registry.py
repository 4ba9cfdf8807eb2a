"""Consent's use cases on a real SQLite store: registration, duplicates, every lifecycle
transition from identity's events (twice, out of order), expiry, revocation, lookup journal,
export, purge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consent.lifecycle import DeclarationNotYetKnownError
from consent.lookup import Consulter, NaturalQuery, SirenQuery
from consent.proofs import PROOF_KEYS, object_key
from consent.refusals import DeclarationExists as DuplicateDeclarationError
from consent.refusals import NotPurgeable as NotPurgeableError
from consent.refusals import NotRevocable as NotRevocableError
from consent.repository import CONSULTATIONS, DECLARATIONS
from shared.contracts.consent import ConsulterRole, DeclarationStatus, RestrictionKind
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountRole,
    AccountTerminatedV1,
    TerminationReason,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.messaging.consumer import PermanentFailure
from shared.store.port import DocumentStore, VersionConflictError
from tests.unit.consent.conftest import TODAY, Harness, build
from tests.unit.consent.support import (
    BIRTH,
    EMAIL,
    JPEG,
    LEGAL_FILES,
    NOM,
    PDF,
    PRENOMS,
    legal_declaration,
    natural_declaration,
)

OFFICE = Consulter(ConsulterRole.OFFICE, "client-etude-2", "etude-2")


def accepted(
    declaration_id: str, account: str = "acc-1", at: datetime | None = None
) -> TermsAcceptedV1:
    return TermsAcceptedV1(
        account_id=account,
        declaration_id=declaration_id,
        terms_version=1,
        content_hash="h",
        accepted_at=at or datetime(2031, 4, 11, 9, 0, tzinfo=UTC),
    )


async def deliver(h: Harness, payload: EventPayload) -> bool:
    return await h.deliver(payload)


async def consume(h: Harness, envelope: Envelope) -> bool:
    return await h.consume(envelope)


async def status(h: Harness, declaration_id: str) -> str:
    document = await h.registry.get(declaration_id)
    assert document is not None
    return str(document["status"])


# -- registration ----------------------------------------------------------------------------


async def test_registration_stores_the_declaration_proofs_and_one_event(h: Harness) -> None:
    document = await h.register()
    assert document["status"] == "registered"
    assert document["territory"] == "metropole"
    [event] = await h.events("consent.declaration-registered.v1")
    assert event.payload == {
        "declaration_id": document["_id"],
        "person_kind": "natural",
        "email": EMAIL,
        "mobile": "+33612345678",
    }
    assert event.subject == f"declaration:{document['_id']}"
    assert event.actor == "office:etude-1"
    proofs = await h.registry.proofs_of(document["_id"])
    assert sorted(p["media_type"] for p in proofs) == ["application/pdf", "image/jpeg"]


async def test_proof_objects_hold_ciphertext_and_their_keys_stay_in_the_store(h: Harness) -> None:
    document = await h.register()
    for proof_id in document["proof_ids"]:
        stored = h.objects.objects[object_key(proof_id)]
        assert PDF not in stored
        assert JPEG not in stored
        assert stored.startswith(b"SCTA")
        assert await h.store.get(PROOF_KEYS, proof_id) is not None
        plaintext = b"".join([c async for c in await h.vault.open(proof_id)])
        assert plaintext in {PDF, JPEG}


async def test_a_second_live_declaration_for_the_same_person_is_refused_with_its_id(
    h: Harness,
) -> None:
    first = await h.register()
    again = natural_declaration(TODAY)
    # Same person, written differently: the keys are normalised.
    again["person"]["nom"] = NOM.upper()
    with pytest.raises(DuplicateDeclarationError) as error:
        await h.register(again, office="etude-9")
    assert error.value.existing_id == first["_id"]
    assert await h.store.count(DECLARATIONS) == 1


async def test_a_legal_person_is_a_duplicate_by_siren(h: Harness) -> None:
    first = await h.register(legal_declaration(TODAY), LEGAL_FILES)
    other = legal_declaration(TODAY)
    other["person"]["denomination"] = "Autre nom"
    with pytest.raises(DuplicateDeclarationError) as error:
        await h.register(other, LEGAL_FILES)
    assert error.value.existing_id == first["_id"]


async def test_after_revocation_the_person_may_declare_again(h: Harness) -> None:
    first = await h.register()
    await deliver(h, accepted(first["_id"]))
    await h.registry.revoke("acc-1")
    second = await h.register()
    assert second["_id"] != first["_id"]


# -- lifecycle -------------------------------------------------------------------------------


async def test_cgu_acceptance_activates_with_an_event_carrying_scope_and_validity(
    h: Harness,
) -> None:
    document = await h.register()
    assert await deliver(h, accepted(document["_id"]))
    assert await status(h, document["_id"]) == "active"
    [event] = await h.events("consent.declaration-activated.v1")
    assert event.payload["scope"] == ["signification_jugement", "assignation"]
    assert event.payload["valid_until"] == (TODAY + timedelta(days=365)).isoformat()
    assert event.payload["account_id"] == "acc-1"
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert stored["account_id"] == "acc-1"


async def test_the_same_acceptance_delivered_twice_applies_once(h: Harness) -> None:
    document = await h.register()
    envelope = h.identity_event(accepted(document["_id"]))
    assert await consume(h, envelope)
    assert not await consume(h, envelope)
    assert len(await h.events("consent.declaration-activated.v1")) == 1
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert len(stored["history"]) == 2


async def test_acceptance_before_account_creation_activates_and_links_then_creation_is_a_no_op(
    h: Harness,
) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    created = AccountCreatedV1(
        account_id="acc-1",
        role=AccountRole.RECIPIENT,
        declaration_id=document["_id"],
        person_kind="natural",
    )
    await deliver(h, created)
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert (stored["status"], stored["account_id"]) == ("active", "acc-1")
    assert (await h.registry.of_account("acc-1"))["_id"] == document["_id"]


async def test_account_creation_links_the_account_without_changing_the_status(
    h: Harness,
) -> None:
    document = await h.register()
    await deliver(
        h,
        AccountCreatedV1(
            account_id="acc-7", role=AccountRole.RECIPIENT, declaration_id=document["_id"]
        ),
    )
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert (stored["status"], stored["account_id"]) == ("registered", "acc-7")


async def test_an_event_for_an_unknown_declaration_fails_for_retry_and_applies_once_known(
    h: Harness, sqlite_store: DocumentStore
) -> None:
    document = await h.register()
    # Simulate the declaration not being visible yet: the event is handled before it exists.
    hidden = await h.store.get(DECLARATIONS, document["_id"])
    assert hidden is not None
    await h.store.delete(DECLARATIONS, document["_id"])
    envelope = h.identity_event(accepted(document["_id"]))
    with pytest.raises(DeclarationNotYetKnownError):
        await consume(h, envelope)
    # Nothing was recorded: the retry (same event id) is not taken for a duplicate.
    await h.store.insert(DECLARATIONS, {k: v for k, v in hidden.items() if k != "_version"})
    assert await consume(h, envelope)
    assert await status(h, document["_id"]) == "active"


async def test_cgu_refusal_before_acceptance_refuses_the_declaration(h: Harness) -> None:
    document = await h.register()
    refused = TermsRefusedV1(
        account_id="acc-1",
        declaration_id=document["_id"],
        terms_version=1,
        refused_at=datetime(2031, 4, 11, 9, 0, tzinfo=UTC),
        leads_to_termination=False,
    )
    await deliver(h, refused)
    assert await status(h, document["_id"]) == "refused"
    assert len(await h.events("consent.declaration-refused.v1")) == 1
    # A later acceptance does not resurrect a refused declaration.
    assert not await deliver(h, accepted(document["_id"]))
    assert await status(h, document["_id"]) == "refused"


async def test_refusing_a_new_version_while_active_waits_for_termination(h: Harness) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    await deliver(
        h,
        TermsRefusedV1(
            account_id="acc-1",
            declaration_id=document["_id"],
            terms_version=2,
            refused_at=datetime(2031, 6, 1, tzinfo=UTC),
            leads_to_termination=True,
        ),
    )
    assert await status(h, document["_id"]) == "active"
    terminated = AccountTerminatedV1(
        account_id="acc-1",
        declaration_id=document["_id"],
        terminated_at=datetime(2031, 6, 1, tzinfo=UTC),
        reason=TerminationReason.TERMS_REFUSED,
    )
    await deliver(h, terminated)
    assert await status(h, document["_id"]) == "terminated"
    [event] = await h.events("consent.declaration-terminated.v1")
    assert event.payload["terminated_at"].startswith("2031-06-01")


async def test_termination_of_a_registered_declaration_ends_it(h: Harness) -> None:
    document = await h.register()
    await deliver(
        h,
        AccountTerminatedV1(
            account_id="acc-1",
            declaration_id=document["_id"],
            terminated_at=datetime(2031, 4, 12, tzinfo=UTC),
            reason=TerminationReason.RECIPIENT_REQUEST,
        ),
    )
    assert await status(h, document["_id"]) == "terminated"


async def test_operator_accounts_and_events_without_declaration_change_nothing(
    h: Harness,
) -> None:
    await h.register()
    before = len(await h.events())
    await deliver(h, AccountCreatedV1(account_id="op-1", role=AccountRole.OPERATOR))
    await deliver(
        h,
        TermsAcceptedV1(
            account_id="op-1",
            declaration_id=None,
            terms_version=1,
            content_hash="h",
            accepted_at=datetime(2031, 4, 11, tzinfo=UTC),
        ),
    )
    assert len(await h.events()) == before


# -- revocation ------------------------------------------------------------------------------


async def test_revocation_is_immediate_and_carries_its_instant(h: Harness) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    h.clock.advance(timedelta(days=3))
    revoked = await h.registry.revoke("acc-1")
    assert revoked["status"] == "revoked"
    [event] = await h.events("consent.revoked.v1")
    assert event.type == "consent.revoked.v1"
    assert datetime.fromisoformat(event.payload["revoked_at"]) == h.clock.now()
    assert "live_key" not in revoked
    with pytest.raises(NotRevocableError):
        await h.registry.revoke("acc-1")


# -- expiry ----------------------------------------------------------------------------------


async def test_the_expiry_job_catches_up_after_downtime_and_runs_idempotently(
    h: Harness,
) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    indefinite = natural_declaration(TODAY, duration={"type": "indefinite"})
    indefinite["person"]["nom"] = "Autre"
    other = await h.register(indefinite)
    # The job did not run for weeks past the end.
    h.clock.advance(timedelta(days=400))
    assert await h.registry.expire_due() == 1
    assert await status(h, document["_id"]) == "expired"
    assert await status(h, other["_id"]) == "registered"
    [event] = await h.events("consent.declaration-expired.v1")
    # The consent ended at midnight after its last day, not when the job noticed.
    assert event.payload["expired_at"].startswith((TODAY + timedelta(days=365)).isoformat())
    assert await h.registry.expire_due() == 0


async def test_two_replicas_expire_each_declaration_once(
    h: Harness, sqlite_store: DocumentStore, tmp_path: Path
) -> None:
    document = await h.register()
    replica = build(sqlite_store, h.clock, tmp_path)
    h.clock.advance(timedelta(days=366))
    stale = await h.registry.get(document["_id"])
    assert stale is not None
    assert await replica.registry.expire_due() == 1
    # The first replica still holds the document as it read it before: its write loses.
    async with h.outbox.transaction() as tx:
        with pytest.raises(VersionConflictError):
            await h.registry._expire(tx, stale)
    assert len(await h.events("consent.declaration-expired.v1")) == 1


async def test_an_acceptance_after_the_end_of_the_duration_expires_instead(h: Harness) -> None:
    document = await h.register()
    late = datetime.combine(TODAY + timedelta(days=370), datetime.min.time(), UTC)
    h.clock.set(late)
    await deliver(h, accepted(document["_id"], at=late))
    assert await status(h, document["_id"]) == "expired"
    assert await h.events("consent.declaration-activated.v1") == []


# -- the registry lookup ---------------------------------------------------------------------


async def test_lookup_by_natural_keys_answers_and_is_journaled_without_the_keys(
    h: Harness,
) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    answer = await h.registry.search(
        OFFICE, NaturalQuery("quenneville", "eloise  marguerite", BIRTH), "dossier 2031/118"
    )
    assert answer is not None
    assert answer.to_json() == {
        "declaration_id": document["_id"],
        "status": "active",
        "scope": ["signification_jugement", "assignation"],
        "valid_until": (TODAY + timedelta(days=365)).isoformat(),
        "territory": "metropole",
    }
    [event] = await h.events("consent.registry-consulted.v1")
    assert event.payload["purpose"] == "dossier 2031/118"
    assert event.payload["office_id"] == "etude-2"
    assert event.payload["declaration_id"] == document["_id"]
    text = json.dumps(event.model_dump(mode="json")).lower()
    for secret in (NOM.lower(), "eloise", "éloïse", BIRTH.isoformat(), EMAIL):
        assert secret not in text


async def test_lookup_with_place_of_birth_must_match_it_too(h: Harness) -> None:
    document = await h.register()
    found = await h.registry.search(OFFICE, NaturalQuery(NOM, PRENOMS, BIRTH, "besancon"), "ref-1")
    assert found is not None
    assert found.declaration_id == document["_id"]
    assert (
        await h.registry.search(OFFICE, NaturalQuery(NOM, PRENOMS, BIRTH, "Dole"), "ref-2") is None
    )


async def test_no_fuzzy_match_and_a_miss_is_journaled_too(h: Harness) -> None:
    await h.register()
    assert await h.registry.search(OFFICE, NaturalQuery("Quennevile", PRENOMS, BIRTH), "r") is None
    assert await h.registry.search(OFFICE, NaturalQuery(NOM, "Éloïse", BIRTH), "r") is None
    events = await h.events("consent.registry-consulted.v1")
    assert [e.payload["declaration_id"] for e in events] == [None, None]
    assert await h.store.count(CONSULTATIONS) == 2


async def test_lookup_by_siren_and_revoked_reads_as_revoked(h: Harness) -> None:
    document = await h.register(legal_declaration(TODAY), LEGAL_FILES)
    await deliver(h, accepted(document["_id"]))
    await h.registry.revoke("acc-1")
    answer = await h.registry.search(OFFICE, SirenQuery("732829320"), "ref")
    assert answer is not None
    assert (answer.status, answer.territory) == (DeclarationStatus.REVOKED, "alsace_moselle")


async def test_lookup_prefers_the_live_declaration_over_an_ended_one(h: Harness) -> None:
    first = await h.register()
    await deliver(h, accepted(first["_id"]))
    await h.registry.revoke("acc-1")
    second = await h.register()
    answer = await h.registry.search(OFFICE, NaturalQuery(NOM, PRENOMS, BIRTH), "ref")
    assert answer is not None
    assert (answer.declaration_id, answer.status) == (second["_id"], DeclarationStatus.REGISTERED)


# -- the person's rights ---------------------------------------------------------------------


async def test_export_holds_declaration_history_proofs_consultations_and_requests(
    h: Harness,
) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    await h.registry.search(OFFICE, NaturalQuery(NOM, PRENOMS, BIRTH), "dossier 7")
    await h.registry.request_restriction("acc-1", RestrictionKind.OBJECTION, "Je m'oppose.")
    export = await h.registry.export("acc-1", "/v1/me/proofs/{id}")
    assert export["declaration"]["person"]["nom"] == NOM
    assert [s["status"] for s in export["declaration"]["history"]] == ["registered", "active"]
    assert {p["type"] for p in export["proofs"]} == {"carte_identite", "justificatif_domicile"}
    assert all(p["download"] == f"/v1/me/proofs/{p['id']}" for p in export["proofs"])
    assert export["registry_consultations"][0]["purpose"] == "dossier 7"
    assert export["restriction_requests"][0]["kind"] == "objection"
    [event] = await h.events("consent.restriction-requested.v1")
    assert "Je m'oppose" not in json.dumps(event.payload)


# -- purge -----------------------------------------------------------------------------------


async def test_purge_shreds_keys_then_objects_and_keeps_a_tombstone(h: Harness) -> None:
    document = await h.register()
    await deliver(h, accepted(document["_id"]))
    await h.registry.revoke("acc-1")
    await h.registry.request_restriction("acc-1", RestrictionKind.RESTRICTION, "texte")
    tombstone = await h.registry.purge(document["_id"])
    stored = await h.registry.get(document["_id"])
    assert stored is not None
    assert "person" not in stored
    assert "keys" not in stored
    assert "revocation_modalities" not in stored
    assert stored["status"] == "revoked"
    assert [s["status"] for s in stored["history"]] == ["registered", "active", "revoked"]
    assert stored["purged_at"] == tombstone["purged_at"]
    assert stored["revoked_at"]
    for proof_id in document["proof_ids"]:
        assert await h.store.get(PROOF_KEYS, proof_id) is None
        assert object_key(proof_id) not in h.objects.objects
    [event] = await h.events("consent.declaration-purged.v1")
    assert {p["proof_id"] for p in event.payload["proofs"]} == set(document["proof_ids"])
    assert all(p["wrapped_key_sha256"] for p in event.payload["proofs"])
    # The person's data no longer answers a lookup, and the purge is idempotent.
    assert await h.registry.search(OFFICE, NaturalQuery(NOM, PRENOMS, BIRTH), "r") is None
    await h.registry.purge(document["_id"])
    assert len(await h.events("consent.declaration-purged.v1")) == 1


async def test_a_shredded_proof_cannot_be_read_even_from_an_old_copy(h: Harness) -> None:
    document = await h.register()
    proof_id = document["proof_ids"][0]
    copy = h.objects.objects[object_key(proof_id)]
    await deliver(
        h,
        AccountTerminatedV1(
            account_id="acc-1",
            declaration_id=document["_id"],
            terminated_at=datetime(2031, 4, 12, tzinfo=UTC),
            reason=TerminationReason.RECIPIENT_REQUEST,
        ),
    )
    await h.registry.purge(document["_id"])
    h.objects.objects[object_key(proof_id)] = copy  # e.g. restored from a backup
    # The ciphertext is intact, but the only wrapped copy of its key is gone.
    with pytest.raises(LookupError):
        _ = [c async for c in await h.vault.open(proof_id)]


async def test_a_live_declaration_is_not_purged(h: Harness) -> None:
    document = await h.register()
    with pytest.raises(NotPurgeableError):
        await h.registry.purge(document["_id"])


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def test_an_event_from_another_account_than_the_linked_one_is_refused_for_good(
    h: Harness,
) -> None:
    document = await h.register()
    await h.deliver(
        AccountCreatedV1(
            account_id="acc-1", role=AccountRole.RECIPIENT, declaration_id=document["_id"]
        )
    )
    with pytest.raises(PermanentFailure):
        await h.deliver(accepted(document["_id"], account="acc-intruder"))
    assert await status(h, document["_id"]) == "registered"
