"""Retention's use cases on a real SQLite store: schedules from events, the scheduler with
replicas, the erasure protocol, holds, alerts and the signed certificate."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from retention import cli
from retention.certificate import verify_certificate
from retention.context import Policy
from retention.download_links import DownloadLinks
from retention.holds import HoldNotFound
from retention.records import Schedule
from retention.repository import CERTIFICATES, ERASURES, SCHEDULES
from shared.contracts.consent import (
    ConsentRevokedV1,
    ConsulterRole,
    DeclarationExpiredV1,
    DeclarationPurgedV1,
    DeclarationRegisteredV1,
    DeclarationTerminatedV1,
    PersonKind,
    RegistryConsultedV1,
)
from shared.contracts.delivery import ActServedV1
from shared.contracts.envelope import EventPayload
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountRole,
    AccountTerminatedV1,
    TerminationReason,
    TermsPublishedV1,
)
from shared.contracts.retention import (
    AccountActsErasedV1,
    AccountDeletedV1,
    ContactDataPurgedV1,
    ErasedAct,
    ErasureCertificateIssuedV2,
    RegistryCopyPurgedV1,
    SubjectKeysShreddedV1,
)
from shared.crypto import IntegrityError, load_or_create_signing_ring
from shared.receipts import Receipt, ReceiptReason
from tests.unit.retention.conftest import START, TIMEOUT, Harness
from tests.unit.retention.test_pdf import parse_back

EMAIL = "camille.durand@example.org"
DUE = datetime(2031, 2, 28, 23, 0, tzinfo=UTC)  # 24:00 of 28 February in Paris
SERVED = datetime(2030, 11, 4, 9, 30, tzinfo=UTC)
ISSUED = ErasureCertificateIssuedV2.routing_key()


async def download_token(harness: Harness, issued: Mapping[str, Any]) -> str:
    """The token of the link notify would fetch for the certificate the event names."""
    link = await DownloadLinks(harness.retention.ctx).link(str(issued["certificate_id"]))
    return link.url.rsplit("/", 1)[1].removesuffix(".pdf")


def terminated(account: str = "acc-1", declaration: str = "decl-1") -> AccountTerminatedV1:
    return AccountTerminatedV1(
        account_id=account,
        declaration_id=declaration,
        terminated_at=START,
        reason=TerminationReason.RECIPIENT_REQUEST,
    )


def served(act_id: str, account: str = "acc-1") -> ActServedV1:
    return ActServedV1(
        act_id=act_id,
        declaration_id="decl-1",
        recipient_account_id=account,
        recipient_email=EMAIL,
        act_nature="signification de jugement",
        office_id="office-1",
        office_name="Étude Martin",
        served_at=SERVED,
        portal_url="http://portal",
        act_sha256=act_id.encode().hex().ljust(64, "0"),
    )


def erased(erasure_id: str, act_ids: list[str], at: datetime) -> AccountActsErasedV1:
    return AccountActsErasedV1(
        erasure_id=erasure_id,
        account_id="acc-1",
        acts=[
            ErasedAct(
                act_id=a,
                sha256=a.encode().hex().ljust(64, "0"),
                served_at=SERVED,
                erased_at=at,
                reply_ids=["reply-1"] if a == "act-1" else [],
            )
            for a in act_ids
        ],
        erased_at=at,
    )


async def known_account(h: Harness) -> None:
    await h.deliver(
        DeclarationRegisteredV1(
            declaration_id="decl-1", person_kind=PersonKind.NATURAL, email=EMAIL
        )
    )
    await h.deliver(
        AccountCreatedV1(account_id="acc-1", role=AccountRole.RECIPIENT, declaration_id="decl-1")
    )


async def fire_account_erasure(h: Harness, acts: list[str]) -> str:
    await known_account(h)
    for act in acts:
        await h.deliver(served(act))
    await h.deliver(terminated())
    h.clock.set(DUE)
    report = await h.retention.schedules.run_due()
    assert report.fired == 1
    [request] = await h.payloads("retention.account-acts-erasure-requested.v1")
    return str(request["erasure_id"])


async def confirm_all(h: Harness, erasure_id: str, acts: list[str]) -> None:
    now = h.clock.now()
    await h.deliver(erased(erasure_id, acts, now))
    await h.deliver(
        SubjectKeysShreddedV1(erasure_id=erasure_id, subjects=["account:acc-1"], shredded_at=now)
    )
    await h.deliver(ContactDataPurgedV1(erasure_id=erasure_id, account_id="acc-1", purged_at=now))


# --- schedules ------------------------------------------------------------------------------


async def test_termination_schedules_erasure_at_the_end_of_the_last_day_clamped_to_february(
    harness: Harness,
) -> None:
    await harness.deliver(terminated())
    [row] = await harness.store.find(SCHEDULES)
    assert row["purpose"] == "account_erasure"
    assert row["subject"] == "account:acc-1"
    # 31 December + 2 months = 28 February, readable until 24:00 (Paris), erased then.
    assert row["due_at"] == "2031-02-28T23:00:00.000000Z"


async def test_a_redelivered_event_and_a_replayed_copy_create_one_schedule(
    harness: Harness,
) -> None:
    envelope = await harness.deliver(terminated())
    await harness.redeliver(envelope)
    await harness.deliver(terminated())  # same fact, new event id (a replay)
    assert await harness.store.count(SCHEDULES) == 1


async def test_revocation_schedules_the_registry_purge_five_years_later(
    harness: Harness,
) -> None:
    revoked_at = datetime(2028, 2, 29, 11, 0, tzinfo=UTC)
    await harness.deliver(
        ConsentRevokedV1(declaration_id="decl-9", account_id="acc-9", revoked_at=revoked_at)
    )
    [row] = await harness.store.find(SCHEDULES)
    assert (row["purpose"], row["subject"]) == ("registry_purge", "declaration:decl-9")
    assert row["due_at"] == "2033-02-28T11:00:00.000000Z"


@pytest.mark.parametrize(
    ("ended", "account_id", "end"),
    [
        (
            DeclarationTerminatedV1(
                declaration_id="decl-9", account_id="acc-9", terminated_at=START
            ),
            "acc-9",
            "termination",
        ),
        (
            DeclarationExpiredV1(
                declaration_id="decl-9", valid_until=START.date(), expired_at=START
            ),
            None,
            "expiry",
        ),
    ],
)
async def test_a_consent_that_ended_otherwise_is_purged_five_years_later_too(
    harness: Harness, ended: EventPayload, account_id: str | None, end: str
) -> None:
    await harness.deliver(ended)
    [row] = await harness.store.find(SCHEDULES, {"purpose": "registry_purge"})
    assert row["subject"] == "declaration:decl-9"
    assert row["due_at"] == "2035-12-31T09:00:00.000000Z"
    assert (row["data"]["account_id"], row["data"]["ended_by"]) == (account_id, end)


async def test_the_first_end_of_a_consent_starts_its_five_years(harness: Harness) -> None:
    await harness.deliver(
        ConsentRevokedV1(declaration_id="decl-9", account_id="acc-9", revoked_at=START)
    )
    await harness.deliver(
        DeclarationTerminatedV1(
            declaration_id="decl-9",
            account_id="acc-9",
            terminated_at=START + timedelta(days=400),
        )
    )
    [row] = await harness.store.find(SCHEDULES, {"purpose": "registry_purge"})
    assert row["data"]["ended_by"] == "revocation"
    assert row["due_at"] == "2035-12-31T09:00:00.000000Z"


async def test_terms_take_effect_at_their_date_and_identity_is_told(harness: Harness) -> None:
    effective = START + timedelta(days=31)
    await harness.deliver(
        TermsPublishedV1(
            terms_version=3, content_hash="abc", effective_at=effective, published_at=START
        )
    )
    await harness.retention.schedules.run_due()
    assert await harness.published("retention.terms-effective.v1") == []
    harness.clock.set(effective)
    await harness.retention.schedules.run_due()
    [event] = await harness.published("retention.terms-effective.v1")
    assert event.subject == "terms:v3"
    assert event.payload["terms_version"] == 3


# --- the scheduler -------------------------------------------------------------------------


async def test_catch_up_fires_everything_due_while_down_in_due_order(harness: Harness) -> None:
    # Seven schedules (more than two batches of three) due at different instants.
    for day in (5, 1, 7, 3, 2, 6, 4):
        await harness.deliver(
            TermsPublishedV1(
                terms_version=day,
                content_hash="h",
                effective_at=START + timedelta(days=day),
                published_at=START,
            )
        )
    harness.clock.set(START + timedelta(days=30))  # the service was down all this time
    report = await harness.retention.schedules.run_due()
    assert report.fired == 7
    fired = [e.payload["terms_version"] for e in await harness.published()]
    assert [v for v in fired if isinstance(v, int)] == [1, 2, 3, 4, 5, 6, 7]
    assert (await harness.retention.schedules.run_due()).fired == 0


async def test_two_replicas_never_fire_a_schedule_twice(harness: Harness) -> None:
    for version in range(1, 11):
        await harness.deliver(
            TermsPublishedV1(
                terms_version=version,
                content_hash="h",
                effective_at=START + timedelta(hours=version),
                published_at=START,
            )
        )
    harness.clock.set(START + timedelta(days=1))
    other = harness.make_node()
    first, second = await asyncio.gather(
        harness.retention.schedules.run_due(), other.retention.schedules.run_due()
    )
    assert first.fired + second.fired == 10
    effective = await harness.published("retention.terms-effective.v1")
    assert sorted(e.payload["terms_version"] for e in effective) == list(range(1, 11))


async def test_a_stale_claim_loses_to_the_replica_that_fired_first(harness: Harness) -> None:
    await harness.deliver(terminated())
    harness.clock.set(DUE)
    [row] = await harness.store.find(SCHEDULES)
    other = harness.make_node()
    assert (await other.retention.schedules.run_due()).fired == 1
    # The first replica read the row before the other claimed it: its claim must fail.
    assert await harness.retention.schedules.fire(Schedule.from_document(row)) is False
    assert len(await harness.published("retention.account-acts-erasure-requested.v1")) == 1


# --- the erasure protocol ------------------------------------------------------------------


async def test_due_erasure_asks_delivery_and_identity_then_audit_with_every_act(
    harness: Harness,
) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1", "act-2"])
    assert len(await harness.published("retention.contact-data-purge-requested.v1")) == 1
    assert await harness.published("retention.subject-keys-shred-requested.v1") == []
    await harness.deliver(erased(erasure_id, ["act-1", "act-2"], harness.clock.now()))
    [shred] = await harness.payloads("retention.subject-keys-shred-requested.v1")
    assert shred["subjects"] == [
        "account:acc-1",
        "declaration:decl-1",
        "act:act-1",
        "act:act-2",
    ]


async def test_certificate_is_issued_once_every_confirmation_is_in(harness: Harness) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1", "act-2"])
    now = harness.clock.now()
    await harness.deliver(erased(erasure_id, ["act-1", "act-2"], now))
    await harness.deliver(
        SubjectKeysShreddedV1(erasure_id=erasure_id, subjects=["account:acc-1"], shredded_at=now)
    )
    assert await harness.published(ISSUED) == []
    confirmation = await harness.deliver(
        ContactDataPurgedV1(erasure_id=erasure_id, account_id="acc-1", purged_at=now)
    )
    await harness.redeliver(confirmation)  # a duplicate changes nothing
    [issued] = await harness.published(ISSUED)
    assert issued.subject == "account:acc-1"
    assert issued.payload["email"] == EMAIL  # captured before identity purged it
    assert await harness.store.count(CERTIFICATES) == 1
    erasure = await harness.store.get(ERASURES, erasure_id)
    assert erasure is not None
    assert erasure["state"] == "completed"
    assert erasure["email"] is None
    assert await harness.store.get("contacts", "account:acc-1") is None


async def test_certificate_lists_what_was_erased_and_verifies_with_the_platform_key(
    harness: Harness,
) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1", "act-2"])
    await confirm_all(harness, erasure_id, ["act-1", "act-2"])
    [issued] = await harness.published(ISSUED)
    token = await download_token(harness, issued.payload)
    certificate_id = str(issued.payload["certificate_id"])
    signed = await harness.retention.certificates.read(certificate_id, token, "json")
    pdf = await harness.retention.certificates.read(certificate_id, token, "pdf")
    document = verify_certificate(signed, harness.signer.published, pdf)
    assert [a["act_id"] for a in document["acts"]] == ["act-1", "act-2"]
    act = document["acts"][0]
    assert set(act) == {"act_id", "sha256", "served_at", "erased_at", "reply_ids"}
    assert act["served_at"] == "2030-11-04T09:30:00Z"
    assert {s["participant"] for s in document["steps"]} == {"delivery", "audit", "identity"}
    assert EMAIL not in signed.decode()
    # No audit wired here: every step's receipt is listed as missing, none silently dropped.
    assert document["audit_receipts"] == []
    assert {m["event_id"] for m in document["missing_receipts"]} == {
        s["event_id"] for s in document["steps"]
    }
    assert {m["reason"] for m in document["missing_receipts"]} == {"no-receipt-source"}
    twin = json.loads(signed)
    assert twin["fingerprint"] == issued.payload["fingerprint"]
    # The fingerprints also go on record under the erasure's subject, which audit never
    # shreds (the account's payloads are unreadable by then).
    [certified] = await harness.published("retention.erasure-certified.v1")
    assert certified.subject == f"erasure:{erasure_id}"
    assert certified.payload["fingerprint"] == twin["fingerprint"]
    assert certified.payload["certificate_id"] == certificate_id
    assert EMAIL not in certified.model_dump_json()
    assert twin["signature"]["kid"] == harness.signer.active.key_id == issued.payload["key_id"]
    # The PDF is well formed and French.
    parse_back(pdf)
    assert "Certificat d'effacement".encode("cp1252") in pdf
    assert "Effacé le".encode("cp1252") in pdf
    # Stored encrypted: neither file is in S3 in clear.
    assert all(b"act-1" not in blob for blob in harness.objects.objects.values())


async def test_a_tampered_certificate_does_not_verify(harness: Harness) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    [issued] = await harness.published(ISSUED)
    token = await download_token(harness, issued.payload)
    signed = await harness.retention.certificates.read(
        str(issued.payload["certificate_id"]), token, "json"
    )
    twin = json.loads(signed)
    twin["certificate"]["acts"] = []
    tampered = json.dumps(twin).encode()
    try:
        verify_certificate(tampered, harness.signer.published)
    except IntegrityError:
        pass
    else:
        raise AssertionError("a certificate with a removed act verified")


async def test_a_wrong_download_token_finds_nothing(harness: Harness) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    [issued] = await harness.published(ISSUED)
    try:
        await harness.retention.certificates.read(
            str(issued.payload["certificate_id"]), "guess", "pdf"
        )
    except LookupError:
        return
    raise AssertionError("a guessed token opened the certificate")


async def test_a_served_act_missing_from_delivery_list_raises_an_alert_not_a_certificate(
    harness: Harness,
) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1", "act-2"])
    await confirm_all(harness, erasure_id, ["act-1"])
    assert await harness.published(ISSUED) == []
    [overdue] = await harness.payloads("retention.erasure-overdue.v1")
    assert "missing" in overdue["reason"]
    assert harness.retention.alerts_raised == 1


async def test_every_erasure_past_its_deadline_is_alerted_in_one_pass_however_many(
    harness: Harness,
) -> None:
    accounts = [f"acc-{n}" for n in range(1, 8)]  # more than two batches of the harness's 3
    for account in accounts:
        await harness.deliver(terminated(account, f"decl-{account}"))
    harness.clock.set(DUE)
    assert (await harness.retention.schedules.run_due()).fired == len(accounts)
    harness.clock.advance(TIMEOUT)
    assert await harness.retention.erasures.check_overdue() == len(accounts)
    assert await harness.retention.erasures.check_overdue() == 0
    assert len(await harness.payloads("retention.erasure-overdue.v1")) == len(accounts)


async def test_missing_confirmations_past_the_timeout_raise_one_alert(
    harness: Harness, caplog: object
) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await harness.deliver(erased(erasure_id, ["act-1"], harness.clock.now()))
    harness.clock.advance(TIMEOUT - timedelta(seconds=1))
    assert await harness.retention.erasures.check_overdue() == 0
    harness.clock.advance(timedelta(seconds=1))
    assert await harness.retention.erasures.check_overdue() == 1
    assert await harness.retention.erasures.check_overdue() == 0  # once, not at every pass
    [overdue] = await harness.payloads("retention.erasure-overdue.v1")
    assert overdue["missing"] == ["audit", "identity"]
    assert harness.retention.alerts_raised == 1
    # Late confirmations still complete the erasure.
    now = harness.clock.now()
    await harness.deliver(
        SubjectKeysShreddedV1(erasure_id=erasure_id, subjects=[], shredded_at=now)
    )
    await harness.deliver(
        ContactDataPurgedV1(erasure_id=erasure_id, account_id="acc-1", purged_at=now)
    )
    assert len(await harness.published(ISSUED)) == 1


def copy_purged(
    erasure_id: str, act_ids: list[str], at: datetime, account: str | None = "acc-1"
) -> RegistryCopyPurgedV1:
    acts = erased(erasure_id, act_ids, at).acts
    return RegistryCopyPurgedV1(
        erasure_id=erasure_id,
        declaration_id="decl-1",
        account_id=account,
        acts=acts,
        purged_at=at,
    )


def looked_up(consultation: str, declaration: str | None = "decl-1") -> RegistryConsultedV1:
    return RegistryConsultedV1(
        consultation_id=consultation,
        consulter_role=ConsulterRole.OFFICE,
        office_id="office-1",
        consulter="client-1",
        purpose="dossier 42",
        declaration_id=declaration,
        consulted_at=START,
    )


async def test_registry_purge_asks_consent_delivery_identity_then_audit_and_certifies(
    harness: Harness,
) -> None:
    await known_account(harness)
    await harness.deliver(served("act-1"))
    await harness.deliver(looked_up("lookup-1"))
    await harness.deliver(looked_up("lookup-2", declaration=None))  # found nobody
    await harness.deliver(
        ConsentRevokedV1(declaration_id="decl-1", account_id="acc-1", revoked_at=START)
    )
    harness.clock.set(START + timedelta(days=5 * 366))
    assert (await harness.retention.schedules.run_due()).fired == 1
    [purge] = await harness.payloads("retention.declaration-purge-requested.v1")
    [deletion] = await harness.payloads("retention.account-deletion-requested.v1")
    assert purge["account_id"] == deletion["account_id"] == "acc-1"
    # Audit waits for delivery's list: each act is a subject of its own.
    assert await harness.published("retention.subject-keys-shred-requested.v1") == []
    erasure_id = str(purge["erasure_id"])
    now = harness.clock.now()
    await harness.deliver(DeclarationPurgedV1(declaration_id="decl-1", purged_at=now, proofs=[]))
    await harness.deliver(
        AccountDeletedV1(erasure_id=erasure_id, account_id="acc-1", deleted_at=now)
    )
    await harness.deliver(copy_purged(erasure_id, ["act-1"], now))
    [shred] = await harness.payloads("retention.subject-keys-shred-requested.v1")
    assert shred["purpose"] == "registry_purge"
    assert shred["subjects"] == [
        "account:acc-1",
        "declaration:decl-1",
        "act:act-1",
        "registry-lookup:lookup-1",
    ]
    assert await harness.published("retention.registry-purge-completed.v1") == []
    await harness.deliver(
        SubjectKeysShreddedV1(erasure_id=erasure_id, subjects=shred["subjects"], shredded_at=now)
    )
    [done] = await harness.payloads("retention.registry-purge-completed.v1")
    assert done["declaration_id"] == "decl-1"
    # The person's acts were erased like a terminated account's: certified the same way.
    [issued] = await harness.published(ISSUED)
    assert issued.payload["email"] == EMAIL
    erasure = await harness.store.get(ERASURES, erasure_id)
    assert erasure is not None
    assert erasure["state"] == "completed"
    assert set(erasure["confirmations"]) == {"audit", "consent", "delivery", "identity"}
    assert await harness.store.get("contacts", "declaration:decl-1") is None
    assert await harness.store.get("contacts", "account:acc-1") is None
    token = await download_token(harness, issued.payload)
    twin = await harness.retention.certificates.read(
        str(issued.payload["certificate_id"]), token, "json"
    )
    document = json.loads(twin)["certificate"]
    assert document["legal_basis"].startswith("Décret 2021-1625 art. 21")
    assert document["consent_ended_at"]
    assert document["terminated_at"] is None
    assert [a["act_id"] for a in document["acts"]] == ["act-1"]
    assert {s["participant"] for s in document["steps"]} == {
        "audit",
        "consent",
        "delivery",
        "identity",
    }


async def test_an_act_delivery_did_not_list_in_the_registry_purge_raises_the_alert(
    harness: Harness,
) -> None:
    await known_account(harness)
    await harness.deliver(served("act-1"))
    await harness.deliver(
        ConsentRevokedV1(declaration_id="decl-1", account_id="acc-1", revoked_at=START)
    )
    harness.clock.set(START + timedelta(days=5 * 366))
    await harness.retention.schedules.run_due()
    [purge] = await harness.payloads("retention.declaration-purge-requested.v1")
    await harness.deliver(copy_purged(str(purge["erasure_id"]), [], harness.clock.now()))
    [overdue] = await harness.payloads("retention.erasure-overdue.v1")
    assert "missing from delivery's list" in overdue["reason"]


async def test_an_expired_consent_is_purged_with_its_account(harness: Harness) -> None:
    await known_account(harness)
    await harness.deliver(
        DeclarationExpiredV1(declaration_id="decl-1", valid_until=START.date(), expired_at=START)
    )
    [schedule] = await harness.store.find(SCHEDULES)
    assert schedule["data"]["account_id"] == "acc-1"
    assert schedule["related_subject"] == "account:acc-1"
    harness.clock.set(START + timedelta(days=5 * 366))
    assert (await harness.retention.schedules.run_due()).fired == 1
    [deletion] = await harness.payloads("retention.account-deletion-requested.v1")
    assert deletion["account_id"] == "acc-1"


async def test_a_purge_scheduled_without_its_account_finds_it_when_it_fires(
    harness: Harness,
) -> None:
    # An expiry recorded before its account was linked (or before the link was kept).
    await harness.deliver(
        DeclarationExpiredV1(declaration_id="decl-1", valid_until=START.date(), expired_at=START)
    )
    await known_account(harness)
    harness.clock.set(START + timedelta(days=5 * 366))
    assert (await harness.retention.schedules.run_due()).fired == 1
    [deletion] = await harness.payloads("retention.account-deletion-requested.v1")
    assert deletion["account_id"] == "acc-1"


async def test_a_declaration_without_account_is_purged_without_certificate(
    harness: Harness,
) -> None:
    await harness.deliver(
        DeclarationRegisteredV1(
            declaration_id="decl-1", person_kind=PersonKind.NATURAL, email=EMAIL
        )
    )
    await harness.deliver(
        DeclarationExpiredV1(declaration_id="decl-1", valid_until=START.date(), expired_at=START)
    )
    harness.clock.set(START + timedelta(days=5 * 366))
    assert (await harness.retention.schedules.run_due()).fired == 1
    [purge] = await harness.payloads("retention.declaration-purge-requested.v1")
    assert await harness.published("retention.account-deletion-requested.v1") == []
    erasure_id = str(purge["erasure_id"])
    now = harness.clock.now()
    await harness.deliver(DeclarationPurgedV1(declaration_id="decl-1", purged_at=now, proofs=[]))
    await harness.deliver(copy_purged(erasure_id, [], now, account=None))
    [shred] = await harness.payloads("retention.subject-keys-shred-requested.v1")
    assert shred["subjects"] == ["declaration:decl-1"]
    await harness.deliver(
        SubjectKeysShreddedV1(erasure_id=erasure_id, subjects=shred["subjects"], shredded_at=now)
    )
    assert len(await harness.published("retention.registry-purge-completed.v1")) == 1
    assert await harness.published(ISSUED) == []
    erasure = await harness.store.get(ERASURES, erasure_id)
    assert erasure is not None
    assert erasure["state"] == "completed"
    assert await harness.store.get("contacts", "declaration:decl-1") is None


# --- legal holds ---------------------------------------------------------------------------


async def test_a_hold_suspends_a_due_erasure_and_lifting_it_resumes(harness: Harness) -> None:
    await harness.deliver(terminated())
    placed_hold = await harness.retention.holds.place(
        "account:acc-1", "TJ Paris RG 31/0042", "op-1"
    )
    assert placed_hold.created
    harness.clock.set(DUE + timedelta(days=10))
    assert (await harness.retention.schedules.run_due()).fired == 0
    assert await harness.published("retention.account-acts-erasure-requested.v1") == []
    await harness.retention.holds.lift(placed_hold.hold_id, "op-1")
    assert (await harness.retention.schedules.run_due()).fired == 1
    placed = await harness.payloads("retention.hold-placed.v1")
    lifted = await harness.payloads("retention.hold-lifted.v1")
    assert placed[0]["reference"] == "TJ Paris RG 31/0042"
    assert lifted[0]["lifted_by"] == "op-1"
    assert lifted[0]["hold_subject"] == "account:acc-1"
    assert placed[0]["hold_id"] == lifted[0]["hold_id"] == placed_hold.hold_id


async def test_a_hold_on_the_declaration_also_holds_the_account_erasure(
    harness: Harness,
) -> None:
    hold = await harness.retention.holds.place("declaration:decl-1", "réquisition 12", "op-1")
    await harness.deliver(terminated())  # scheduled while the hold exists
    harness.clock.set(DUE)
    assert (await harness.retention.schedules.run_due()).fired == 0
    await harness.retention.holds.lift(hold.hold_id, "op-1")
    assert (await harness.retention.schedules.run_due()).fired == 1


async def test_placing_the_same_hold_twice_returns_it_and_is_journaled_once(
    harness: Harness,
) -> None:
    first = await harness.retention.holds.place("account:acc-1", "ref", "op-1")
    again = await harness.retention.holds.place("account:acc-1", "ref", "op-1")
    assert first.created
    assert not again.created
    assert again.hold_id == first.hold_id
    assert len(await harness.published("retention.hold-placed.v1")) == 1


async def test_a_subject_stays_held_until_its_last_hold_is_lifted(harness: Harness) -> None:
    await harness.deliver(terminated())
    first = await harness.retention.holds.place("account:acc-1", "RG 31/1", "op-1")
    second = await harness.retention.holds.place("account:acc-1", "RG 31/2", "op-2")
    assert first.hold_id != second.hold_id
    harness.clock.set(DUE)
    await harness.retention.holds.lift(first.hold_id, "op-1")
    assert (await harness.retention.schedules.run_due()).fired == 0
    assert [h.id for h in await harness.retention.holds.of_subject("account:acc-1")] == [
        second.hold_id
    ]
    await harness.retention.holds.lift(second.hold_id, "op-2")
    assert (await harness.retention.schedules.run_due()).fired == 1


async def test_lifting_an_unknown_or_lifted_hold_is_refused(harness: Harness) -> None:
    hold = await harness.retention.holds.place("account:acc-1", "ref", "op-1")
    await harness.retention.holds.lift(hold.hold_id, "op-1")
    with pytest.raises(HoldNotFound):
        await harness.retention.holds.lift(hold.hold_id, "op-1")
    assert len(await harness.published("retention.hold-lifted.v1")) == 1


NOT_CHECKPOINTED = ReceiptReason.NOT_CHECKPOINTED


class SlowAudit:
    """Audit's receipts as they come: not checkpointed yet, then found."""

    def __init__(self) -> None:
        self.checkpointed = False
        self.asked = 0

    async def receipts(self, subject: str | None, event_ids: Iterable[str]) -> dict[str, Receipt]:
        self.asked += 1
        if not self.checkpointed:
            return {e: Receipt(0, None, NOT_CHECKPOINTED) for e in event_ids}
        return {e: Receipt(0, "p") for e in event_ids}


async def test_a_certificate_waits_for_receipts_audit_is_about_to_give(harness: Harness) -> None:
    audit = SlowAudit()
    harness.node = harness.make_node(audit)
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    assert audit.asked == 1
    assert await harness.published(ISSUED) == []
    erasure = await harness.store.get(ERASURES, erasure_id)
    assert erasure is not None
    assert erasure["state"] == "confirmed"

    audit.checkpointed = True
    assert await harness.retention.certificates.issue_pending() == 1
    [issued] = await harness.published(ISSUED)
    assert issued.payload["certificate_id"]


async def test_a_certificate_stops_waiting_for_receipts_after_the_grace_period(
    harness: Harness,
) -> None:
    audit = SlowAudit()
    harness.node = harness.make_node(audit)
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    harness.clock.advance(Policy().receipt_grace + timedelta(seconds=1))
    assert await harness.retention.certificates.issue_pending() == 1
    [issued] = await harness.published(ISSUED)
    token = await download_token(harness, issued.payload)
    signed = await harness.retention.certificates.read(
        str(issued.payload["certificate_id"]), token, "json"
    )
    document = verify_certificate(signed, harness.signer.published)
    assert document["audit_receipts"] == []
    assert {m["reason"] for m in document["missing_receipts"]} == {NOT_CHECKPOINTED}


async def test_an_erasure_confirmed_but_never_certified_raises_the_alert(
    harness: Harness,
) -> None:
    harness.node = harness.make_node(SlowAudit())  # receipts never come: no certificate yet
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    assert await harness.retention.erasures.check_overdue() == 0
    harness.clock.advance(TIMEOUT + timedelta(minutes=1))
    assert await harness.retention.erasures.check_overdue() == 1
    [alert] = await harness.payloads("retention.erasure-overdue.v1")
    assert alert["reason"] == "certificate not issued past the deadline"
    assert alert["missing"] == []
    assert await harness.retention.erasures.check_overdue() == 0  # once


async def test_verify_certificate_cli_accepts_the_files_and_refuses_a_tampered_one(
    harness: Harness, tmp_path: Path
) -> None:
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    [issued] = await harness.published(ISSUED)
    token = await download_token(harness, issued.payload)
    certificate_id = str(issued.payload["certificate_id"])
    json_file, pdf_file = tmp_path / "c.json", tmp_path / "c.pdf"
    json_file.write_bytes(await harness.retention.certificates.read(certificate_id, token, "json"))
    pdf_file.write_bytes(await harness.retention.certificates.read(certificate_id, token, "pdf"))
    keys = [
        arg for key in harness.retention.certificates.public_keys for arg in ("--public-key", key)
    ]

    out = io.StringIO()
    args = ["verify-certificate", "--certificate", str(json_file), "--pdf", str(pdf_file)]
    assert cli.main([*args, *keys], out) == cli.EXIT_OK
    assert f"verified: certificate {certificate_id} and its PDF, 1 act(s)" in out.getvalue()

    pdf_file.write_bytes(pdf_file.read_bytes().replace(b"act-1", b"act-2", 1))
    out = io.StringIO()
    assert cli.main([*args, *keys], out) == cli.EXIT_ERROR
    assert out.getvalue().startswith("NOT VERIFIED")
    # Another key than the platform's: refused too.
    other = load_or_create_signing_ring(tmp_path / "other.json", "other", harness.clock)
    out = io.StringIO()
    only_json = ["verify-certificate", "--certificate", str(json_file)]
    assert cli.main([*only_json, "--public-key", other.verifier_keys()[0]], out) == 1
    assert out.getvalue().startswith("NOT VERIFIED")
