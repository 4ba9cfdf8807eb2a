"""Retention's requests on identity's `identity.retention` consumer: contact-data purge,
account deletion (tombstone) and the CGU effective date, each idempotent on redelivery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity import totp
from identity.consumers import QUEUES, RETENTION_QUEUE, retention_subscription
from identity.errors import IdentityError
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.contracts.retention import (
    AccountDeletionRequestedV1,
    ContactDataPurgeRequestedV1,
    TermsEffectiveV1,
)
from shared.messaging.consumer import PermanentFailure
from shared.messaging.inbox import Inbox
from tests.unit.identity.support import IP, PASSWORD, Rig, refused

PURGED = "identity.contact-data-purged.v1"
DELETED = "identity.account-deleted.v1"


def request(rig: Rig, payload: EventPayload, subject: str) -> Envelope:
    return new_envelope(payload, subject=subject, actor="service:retention", clock=rig.clock)


async def handle(rig: Rig, envelope: Envelope) -> None:
    inbox = Inbox(
        rig.store, RETENTION_QUEUE, rig.clock, transaction=rig.identity.ctx.outbox.transaction
    )
    await retention_subscription(rig.identity.retention, inbox).handler(envelope)


def purge_request(rig: Rig, account_id: str, erasure_id: str = "er-1") -> Envelope:
    payload = ContactDataPurgeRequestedV1(
        erasure_id=erasure_id, account_id=account_id, requested_at=rig.clock.now()
    )
    return request(rig, payload, f"account:{account_id}")


def deletion_request(rig: Rig, account_id: str, declaration_id: str = "decl-1") -> Envelope:
    payload = AccountDeletionRequestedV1(
        erasure_id="er-5y",
        account_id=account_id,
        declaration_id=declaration_id,
        requested_at=rig.clock.now(),
    )
    return request(rig, payload, f"declaration:{declaration_id}")


async def with_totp(rig: Rig) -> str:
    account_id, _ = await rig.active_recipient()
    enrolment = await rig.identity.accounts.enrol_totp(account_id)
    await rig.identity.accounts.confirm_totp(
        account_id, totp.code_at(enrolment.secret, rig.clock.now())
    )
    rig.clock.advance(timedelta(seconds=30))
    return account_id


def test_queues_list_the_declarations_and_retention_queues_with_their_bindings() -> None:
    assert QUEUES == {
        "identity.declarations": ("consent.declaration-registered.v1",),
        "identity.retention": (
            "retention.contact-data-purge-requested.v1",
            "retention.account-deletion-requested.v1",
            "retention.terms-effective.v1",
        ),
        "identity.notices": ("notify.notification-sent.v1", "notify.notification-failed.v1"),
    }


# -- contact-data purge -------------------------------------------------------------------------


async def test_contact_purge_forgets_contacts_second_factor_and_links_and_confirms_once(
    rig: Rig,
) -> None:
    account_id = await with_totp(rig)
    await rig.identity.accounts.terminate(account_id)
    before = await rig.store.get("accounts", account_id)
    assert before is not None
    envelope = purge_request(rig, account_id)

    await handle(rig, envelope)
    await handle(rig, envelope)  # redelivered

    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["email"] is None
    assert account["mobile"] is None
    assert account["totp_secret"] is None
    assert account["totp_pending_secret"] is None
    assert account["recovery_codes"] == []
    assert await rig.store.find("links", {"account_id": account_id}) == []
    # The tombstone's facts stay: id, role, identifier, statuses, dates.
    for kept in ("role", "status", "identifier", "declaration_id", "created_at", "terminated_at"):
        assert account[kept] == before[kept]
    [confirmation] = await rig.events(PURGED)
    assert confirmation.payload["erasure_id"] == "er-1"
    assert confirmation.payload["account_id"] == account_id
    assert confirmation.causation_id == envelope.event_id


async def test_a_second_purge_request_is_confirmed_again(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await handle(rig, purge_request(rig, account_id, "er-1"))
    await handle(rig, purge_request(rig, account_id, "er-2"))
    assert [e.payload["erasure_id"] for e in await rig.events(PURGED)] == ["er-1", "er-2"]


async def test_a_purged_pending_account_gets_no_new_activation_link(rig: Rig) -> None:
    account_id = await rig.declare()
    await handle(rig, purge_request(rig, account_id))
    error = await refused(
        rig.identity.accounts.reissue_activation_link(account_id, actor="operator:o")
    )
    assert error.code == "no-contact-data"


async def test_a_request_for_an_unknown_account_is_refused_for_good(rig: Rig) -> None:
    with pytest.raises(PermanentFailure):
        await handle(rig, purge_request(rig, "acc-unknown"))
    with pytest.raises(PermanentFailure):
        await handle(rig, deletion_request(rig, "acc-unknown"))
    assert await rig.events(PURGED) == []


# -- account deletion ---------------------------------------------------------------------------


async def test_deletion_leaves_a_tombstone_that_cannot_log_in_and_confirms_once(
    rig: Rig,
) -> None:
    account_id = await with_totp(rig)
    identifier = await rig.identifier(account_id)
    before = await rig.store.get("accounts", account_id)
    assert before is not None
    envelope = deletion_request(rig, account_id)

    await handle(rig, envelope)
    await handle(rig, envelope)  # redelivered

    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["status"] == "deleted"
    assert account["status_before_deletion"] == "active"
    assert account["role"] == "recipient"
    assert account["declaration_id"] == "decl-1"
    assert account["created_at"] == before["created_at"]
    assert account["activated_at"] == before["activated_at"]
    assert account["deleted_at"]
    for gone in ("email", "mobile", "password_hash", "totp_secret"):
        assert account[gone] is None
    assert "person_kind" not in account
    assert identifier.replace("-", "") not in str(account)
    # The CGU decision stays as evidence, without the IP and user agent.
    [decision] = await rig.store.find("terms_decisions", {"account_id": account_id})
    assert decision["decision"] == "accepted"
    assert decision["ip"] is None
    assert decision["user_agent"] is None
    # Every session died with a revocation event; the old identifier no longer logs in.
    assert await rig.store.find("sessions", {"account_id": account_id, "revoked_at": None}) == []
    assert await rig.events("identity.credentials-revoked.v1")
    with pytest.raises(IdentityError):
        await rig.identity.sessions.login(identifier, PASSWORD, ip=IP)
    [confirmation] = await rig.events(DELETED)
    assert confirmation.payload == {
        "erasure_id": "er-5y",
        "account_id": account_id,
        "deleted_at": confirmation.payload["deleted_at"],
    }
    assert confirmation.causation_id == envelope.event_id


async def test_a_deleted_account_cannot_be_terminated_or_changed(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await handle(rig, deletion_request(rig, account_id))
    assert (await refused(rig.identity.accounts.terminate(account_id))).status == 409
    assert (await refused(rig.identity.accounts.enrol_totp(account_id))).status == 403


async def test_deletion_naming_another_declaration_is_refused_for_good(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    with pytest.raises(PermanentFailure):
        await handle(rig, deletion_request(rig, account_id, declaration_id="decl-other"))
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["status"] == "active"


# -- CGU effective date -------------------------------------------------------------------------


async def published_v2(rig: Rig) -> TermsEffectiveV1:
    effective_at = rig.clock.now() + timedelta(days=40)
    version = await rig.identity.terms.publish("# CGU v2\n", effective_at, operator="op")
    await rig.present_notices()
    return TermsEffectiveV1(
        terms_version=version.version,
        content_hash=version.content_hash,
        effective_at=effective_at,
    )


async def test_terms_effective_requires_acceptance_at_next_login_even_on_a_lagging_clock(
    rig: Rig,
) -> None:
    account_id, tokens = await rig.active_recipient()
    assert not tokens.terms_acceptance_required
    event = await published_v2(rig)
    # Retention's clock reached the date; this replica's is a little behind.
    envelope = request(rig, event, "terms:v2")
    await handle(rig, envelope)
    await handle(rig, envelope)  # redelivered

    assert (await rig.login(account_id)).terms_answer_pending
    decision = await rig.identity.terms.accept(account_id, version=2, ip=IP, user_agent="t")
    assert decision.version == 2
    assert not (await rig.login(account_id)).terms_answer_pending


async def test_terms_effective_after_identity_switched_changes_nothing(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    event = await published_v2(rig)
    rig.clock.advance(timedelta(days=41))
    assert (await rig.login(account_id)).terms_answer_pending
    await rig.identity.terms.accept(account_id, version=2, ip=IP, user_agent="t")

    await handle(rig, request(rig, event, "terms:v2"))

    assert not (await rig.login(account_id)).terms_answer_pending
    assert (await rig.identity.terms.current()).version == 2


async def test_terms_effective_for_an_unknown_version_or_text_is_refused_for_good(
    rig: Rig,
) -> None:
    event = await published_v2(rig)
    unknown = event.model_copy(update={"terms_version": 9})
    altered = event.model_copy(update={"content_hash": "0" * 64})
    for payload in (unknown, altered):
        with pytest.raises(PermanentFailure):
            await handle(rig, request(rig, payload, "terms:v2"))
    terms = await rig.store.get("terms", "v00002")
    assert terms is not None
    assert "in_force_at" not in terms
