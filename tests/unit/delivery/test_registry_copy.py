"""Delivery's copy of the registry leaves with the person's data: the account's addresses go
with its contact data purge (two months after termination), the whole copy with the registry's
five-year purge — which also crypto-shreds the acts of an account never terminated and confirms
with `delivery.registry-copy-purged.v1`. A late event cannot bring the copy back."""

from __future__ import annotations

from datetime import timedelta

from delivery.vault import ACT_KEYS
from shared.contracts.consent import DeclarationActivatedV1, DeclarationRegisteredV1, PersonKind
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.retention import DeclarationPurgeRequestedV1, RegistryCopyPurgedV1
from tests.unit.delivery.conftest import Harness
from tests.unit.delivery.test_erasure import handle, request

COPIED = RegistryCopyPurgedV1.routing_key()


def purge(
    harness: Harness, account_id: str | None = "acc-1", declaration: str = "decl-1"
) -> Envelope:
    return new_envelope(
        DeclarationPurgeRequestedV1(
            erasure_id="er-9",
            declaration_id=declaration,
            revoked_at=harness.clock.now() - timedelta(days=5 * 366),
            requested_at=harness.clock.now(),
            account_id=account_id,
        ),
        subject=f"declaration:{declaration}",
        actor="service:retention",
        clock=harness.clock,
    )


async def confirmations(harness: Harness) -> list[tuple[Envelope, RegistryCopyPurgedV1]]:
    return [
        (e, RegistryCopyPurgedV1.model_validate(e.payload)) for e in await harness.events(COPIED)
    ]


async def test_the_registry_purge_erases_the_copy_and_the_acts_of_a_revoked_account(
    harness: Harness,
) -> None:
    await harness.consent("decl-1", "acc-1")
    act_id = await harness.served(key="k-1")
    before = await harness.store.get("declarations", "decl-1")
    assert before is not None
    assert before["email"] == "acc-1@example.org"
    assert before["scope"]
    assert before["territory"]
    await harness.revoke()
    harness.clock.advance(timedelta(days=5 * 366))

    await handle(harness, purge(harness, account_id=None))  # found from the copy

    copy = await harness.store.get("declarations", "decl-1")
    assert copy is not None
    for field in ("email", "mobile", "scope", "territory"):
        assert field not in copy, field
    assert copy["status"] == "revoked"
    assert copy["account_id"] == "acc-1"
    assert copy["purged_at"]
    # The act: like a terminated account's, key and object gone, a tombstone left.
    assert await harness.store.get(ACT_KEYS, act_id) is None
    assert f"acts/{act_id}" not in harness.objects.objects
    tombstone = await harness.act(act_id)
    assert tombstone["status"] == "erased"
    assert "title" not in tombstone
    assert "requester_name" not in tombstone
    [(envelope, confirmation)] = await confirmations(harness)
    assert envelope.subject == "declaration:decl-1"
    assert confirmation.erasure_id == "er-9"
    assert confirmation.account_id == "acc-1"
    assert [a.act_id for a in confirmation.acts] == [act_id]

    # A redelivered request confirms once; a late registration does not bring the copy back.
    await handle(harness, purge(harness, account_id=None))
    await harness.deliver(
        DeclarationRegisteredV1(
            declaration_id="decl-1", person_kind=PersonKind.NATURAL, email="late@example.org"
        )
    )
    await harness.deliver(
        DeclarationActivatedV1(
            declaration_id="decl-1",
            account_id="acc-1",
            activated_at=harness.clock.now(),
            terms_version=1,
            scope=[],
            valid_until=None,
            territory="metropole",
        )
    )
    again = await harness.store.get("declarations", "decl-1")
    assert again is not None
    assert "email" not in again
    assert "territory" not in again


async def test_acts_already_erased_at_termination_are_listed_again_not_erased_twice(
    harness: Harness,
) -> None:
    await harness.consent("decl-1", "acc-1")
    act_id = await harness.served(key="k-1")
    await handle(harness, request(harness))  # two months after termination
    copy = await harness.store.get("declarations", "decl-1")
    assert copy is not None
    assert "email" not in copy  # the addresses go with the account's contact data
    assert copy["scope"]  # the rest of the registry's copy stays until the registry's purge
    first = await harness.act(act_id)
    harness.clock.advance(timedelta(days=5 * 366))
    await handle(harness, purge(harness))
    assert await harness.act(act_id) == first
    [(_, confirmation)] = await confirmations(harness)
    assert [a.act_id for a in confirmation.acts] == [act_id]


async def test_a_declaration_never_activated_is_purged_with_an_empty_list(
    harness: Harness,
) -> None:
    await harness.deliver(
        DeclarationRegisteredV1(
            declaration_id="decl-7", person_kind=PersonKind.NATURAL, email="p@example.org"
        )
    )
    await handle(harness, purge(harness, account_id=None, declaration="decl-7"))
    copy = await harness.store.get("declarations", "decl-7")
    assert copy is not None
    assert "email" not in copy
    [(_, confirmation)] = await confirmations(harness)
    assert confirmation.account_id is None
    assert confirmation.acts == []
