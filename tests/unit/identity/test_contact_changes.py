"""The recipient's contacts: a new notification e-mail takes effect only once confirmed from
that address, its link travels by `link_id` only, the mobile changes at once, every change is
an event with no credential and the new value only; the CGU acceptance records the declaration
hash validated with it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from identity.accounts import EMAIL_CHANGE_PATH
from identity.contacts import normalized_mobile
from identity.errors import IdentityError
from tests.unit.identity.support import IP, PASSWORD, Rig, refused, token_of

REQUESTED = "identity.email-change-requested.v1"
CHANGED = "identity.email-changed.v1"
MOBILE = "identity.mobile-changed.v1"
NEW = "nouvelle.adresse@example.net"


async def _email(rig: Rig, account_id: str) -> str | None:
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    return account.get("email")


async def test_a_new_email_takes_effect_only_when_the_link_sent_to_it_is_opened(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    before = await _email(rig, account_id)
    await rig.identity.contacts.request_email_change(account_id, NEW, PASSWORD)

    # Not yet: notices still go to the current address, the new one is pending.
    assert await _email(rig, account_id) == before
    details = await rig.identity.contacts.details(account_id)
    assert (details.email, details.pending_email) == (before, NEW)
    assert await rig.payloads(CHANGED) == []

    [requested] = await rig.payloads(REQUESTED)
    assert requested["email"] == NEW
    url = await rig.link_url(requested)
    assert EMAIL_CHANGE_PATH in url
    token = token_of(url)
    assert (await rig.identity.contacts.check_email_link(token)).email == NEW

    rig.clock.advance(timedelta(minutes=5))
    assert await rig.identity.contacts.confirm_email_change(token) == account_id
    assert await _email(rig, account_id) == NEW
    [changed] = await rig.payloads(CHANGED)
    assert changed["email"] == NEW
    assert changed["declaration_id"] == "decl-1"
    # Single use.
    again = await refused(rig.identity.contacts.confirm_email_change(token))
    assert (again.status, again.code) == (410, "link-invalid")


async def test_no_contact_event_carries_a_credential_or_the_previous_address(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    before = await _email(rig, account_id)
    await rig.identity.contacts.request_email_change(account_id, NEW, PASSWORD)
    [requested] = await rig.payloads(REQUESTED)
    token = token_of(await rig.link_url(requested))
    await rig.identity.contacts.confirm_email_change(token)
    await rig.identity.contacts.change_mobile(account_id, "06 12 34 56 78")

    for event_type in (REQUESTED, CHANGED, MOBILE):
        for envelope in await rig.events(event_type):
            text = json.dumps(envelope.model_dump(mode="json"))
            assert token not in text
            assert PASSWORD not in text
            assert "token" not in envelope.payload
            assert str(before) not in text
            assert envelope.actor == f"account:{account_id}"


async def test_changing_the_email_asks_for_the_password(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    wrong = await refused(rig.identity.contacts.request_email_change(account_id, NEW, "nope"))
    assert (wrong.status, wrong.code) == (403, "invalid-current-password")
    invalid = await refused(
        rig.identity.contacts.request_email_change(account_id, "pas-une-adresse", PASSWORD)
    )
    assert (invalid.status, invalid.code) == (422, "email-invalid")
    same = await refused(
        rig.identity.contacts.request_email_change(
            account_id, str(await _email(rig, account_id)).upper(), PASSWORD
        )
    )
    assert (same.status, same.code) == (409, "email-unchanged")
    assert await rig.payloads(REQUESTED) == []


async def test_a_new_request_replaces_the_pending_address_and_its_link(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.contacts.request_email_change(account_id, "premiere@example.net", PASSWORD)
    first = token_of(await rig.link_url((await rig.payloads(REQUESTED))[0]))
    await rig.identity.contacts.request_email_change(account_id, NEW, PASSWORD)
    stale = await refused(rig.identity.contacts.confirm_email_change(first))
    assert stale.code == "link-invalid"
    second = token_of(await rig.link_url((await rig.payloads(REQUESTED))[1]))
    await rig.identity.contacts.confirm_email_change(second)
    assert await _email(rig, account_id) == NEW


async def test_an_email_change_link_expires_after_a_day(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.contacts.request_email_change(account_id, NEW, PASSWORD)
    token = token_of(await rig.link_url((await rig.payloads(REQUESTED))[0]))
    rig.clock.advance(timedelta(hours=24))
    expired = await refused(rig.identity.contacts.confirm_email_change(token))
    assert expired.code == "link-invalid"
    assert (await rig.identity.contacts.details(account_id)).pending_email is None


async def test_email_change_requests_are_limited_per_hour(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    for index in range(5):
        await rig.identity.contacts.request_email_change(
            account_id, f"a{index}@example.net", PASSWORD
        )
    limited = await refused(rig.identity.contacts.request_email_change(account_id, NEW, PASSWORD))
    assert (limited.status, limited.code) == (429, "too-many-email-changes")


async def test_a_terminated_account_cannot_change_its_contacts(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.terminate(account_id)
    refused_email = await refused(
        rig.identity.contacts.request_email_change(account_id, NEW, PASSWORD)
    )
    refused_mobile = await refused(rig.identity.contacts.change_mobile(account_id, "0612345678"))
    assert refused_email.code == refused_mobile.code == "account-read-only"


async def test_the_mobile_changes_at_once_and_can_be_removed(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    assert await rig.identity.contacts.change_mobile(account_id, "06 12 34 56 78") == (
        "+33612345678"
    )
    # The same number again changes nothing.
    await rig.identity.contacts.change_mobile(account_id, "+33 6 12 34 56 78")
    assert await rig.identity.contacts.change_mobile(account_id, "") is None
    payloads = await rig.payloads(MOBILE)
    assert [p["mobile"] for p in payloads] == ["+33612345678", None]
    assert (await rig.identity.contacts.details(account_id)).mobile is None
    invalid = await refused(rig.identity.contacts.change_mobile(account_id, "12"))
    assert (invalid.status, invalid.code) == (422, "mobile-invalid")


def test_mobiles_are_read_as_people_type_them() -> None:
    assert normalized_mobile("07.00.00.00.01") == "+33700000001"
    assert normalized_mobile("00590 690 12 34 56") == "+590690123456"
    assert normalized_mobile("0692 12 34 56") == "+262692123456"
    assert normalized_mobile("   ") is None
    with pytest.raises(IdentityError):
        normalized_mobile("+262 (0)692")


async def test_the_acceptance_record_and_its_event_carry_the_declaration_hash(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient(accept_terms=False)
    digest = "ab" * 32
    await rig.identity.terms.accept(
        account_id, version=None, ip=IP, user_agent="test", declaration_hash=digest
    )
    [accepted] = await rig.payloads("identity.terms-accepted.v1")
    assert accepted["declaration_hash"] == digest
    [decision] = await rig.store.find("terms_decisions", {"account_id": account_id})
    assert decision["declaration_hash"] == digest
