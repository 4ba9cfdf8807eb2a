"""A declaration never active (first CGU refused, or never activated) is destroyed at once, not
five years later: the registry purge is due at the instant it ended, the scheduler fires it on
its next pass and asks consent (proofs), audit (subjects) and identity (the account); the purge
completes with every confirmation. A consent that existed keeps its five years."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from retention.domain import NEVER_CONSENTED, ConsentEnd, consent_data_purge_due
from retention.repository import ERASURES, SCHEDULES
from shared.contracts.consent import (
    DeclarationLapsedV1,
    DeclarationPurgedV1,
    DeclarationRefusedV1,
    DeclarationRegisteredV1,
    PersonKind,
)
from shared.contracts.envelope import EventPayload
from shared.contracts.identity import AccountCreatedV1, AccountRole
from shared.contracts.retention import (
    AccountDeletedV1,
    ErasureCertificateIssuedV2,
    SubjectKeysShreddedV1,
)
from tests.unit.retention.conftest import START, Harness
from tests.unit.retention.test_retention import copy_purged, download_token

PARIS = ZoneInfo("Europe/Paris")
ENDED = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("end", sorted(NEVER_CONSENTED))
def test_a_declaration_never_active_is_due_for_destruction_when_it_ends(end: ConsentEnd) -> None:
    assert consent_data_purge_due(ENDED, end, 5, PARIS) == ENDED


@pytest.mark.parametrize("end", [ConsentEnd.REVOCATION, ConsentEnd.TERMINATION, ConsentEnd.EXPIRY])
def test_a_consent_that_existed_is_destroyed_five_years_after_it_ended(end: ConsentEnd) -> None:
    assert consent_data_purge_due(ENDED, end, 5, PARIS) == datetime(2036, 3, 4, 10, 0, tzinfo=UTC)


def refused() -> DeclarationRefusedV1:
    return DeclarationRefusedV1(declaration_id="decl-1", account_id="acc-1", refused_at=START)


def lapsed() -> DeclarationLapsedV1:
    return DeclarationLapsedV1(
        declaration_id="decl-1",
        account_id="acc-1",
        activation_expired_at=START - timedelta(days=30),
        lapsed_at=START,
    )


@pytest.mark.parametrize(("ended", "end"), [(refused(), "refusal"), (lapsed(), "never_activated")])
async def test_first_cgu_refused_or_never_activated_is_purged_at_once_with_the_account(
    harness: Harness, ended: EventPayload, end: str
) -> None:
    await harness.deliver(
        DeclarationRegisteredV1(
            declaration_id="decl-1", person_kind=PersonKind.NATURAL, email="c@example.org"
        )
    )
    await harness.deliver(
        AccountCreatedV1(account_id="acc-1", role=AccountRole.RECIPIENT, declaration_id="decl-1")
    )
    await harness.deliver(ended)
    [row] = await harness.store.find(SCHEDULES, {"purpose": "registry_purge"})
    assert row["due_at"] == "2030-12-31T09:00:00.000000Z"  # START: the instant it ended
    assert (row["data"]["account_id"], row["data"]["ended_by"]) == ("acc-1", end)

    assert (await harness.retention.schedules.run_due()).fired == 1  # no clock jump
    [purge] = await harness.payloads("retention.declaration-purge-requested.v1")
    [deletion] = await harness.payloads("retention.account-deletion-requested.v1")
    assert purge["declaration_id"] == "decl-1"
    assert deletion["account_id"] == "acc-1"

    erasure_id = str(purge["erasure_id"])
    now = harness.clock.now()
    await harness.deliver(DeclarationPurgedV1(declaration_id="decl-1", purged_at=now, proofs=[]))
    await harness.deliver(
        AccountDeletedV1(erasure_id=erasure_id, account_id="acc-1", deleted_at=now)
    )
    # Audit waits for delivery's list of the person's acts (none here).
    await harness.deliver(copy_purged(erasure_id, [], now))
    [shred] = await harness.payloads("retention.subject-keys-shred-requested.v1")
    assert shred["subjects"] == ["account:acc-1", "declaration:decl-1"]
    await harness.deliver(
        SubjectKeysShreddedV1(erasure_id=erasure_id, subjects=shred["subjects"], shredded_at=now)
    )
    [done] = await harness.payloads("retention.registry-purge-completed.v1")
    assert (done["declaration_id"], done["account_id"]) == ("decl-1", "acc-1")
    erasure = await harness.store.get(ERASURES, erasure_id)
    assert erasure is not None
    assert set(erasure["confirmations"]) == {"consent", "audit", "delivery", "identity"}
    assert erasure["state"] == "completed"
    # Certified as what happened: no consent ever existed, so not décret 2021-1625 art. 21.
    [issued] = await harness.published(ErasureCertificateIssuedV2.routing_key())
    token = await download_token(harness, issued.payload)
    twin = await harness.retention.certificates.read(
        str(issued.payload["certificate_id"]), token, "json"
    )
    assert json.loads(twin)["certificate"]["legal_basis"].startswith("RGPD art. 5(1)(c) et (e)")
    # The e-mail retention kept for the certificate goes with the erasure.
    assert await harness.store.get("contacts", "declaration:decl-1") is None
