"""Accounts: creation from declarations, activation and reset links, passwords, termination,
suspension, operator creation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity.domain import ACTS_READ, AccountStatus
from identity.errors import IdentityError
from tests.unit.identity.support import (
    IP,
    PASSWORD,
    Rig,
    declaration_envelope,
    refused,
    token_of,
)

ACTIVATION = "identity.activation-link-issued.v2"


async def test_a_declaration_opens_one_pending_account_and_emails_an_activation_link(
    rig: Rig,
) -> None:
    account_id = await rig.declare("decl-1", "jeanne@example.org")

    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["status"] == AccountStatus.PENDING_ACTIVATION
    assert account["password_hash"] is None
    created = await rig.payloads("identity.account-created.v1")
    assert created == [
        {
            "account_id": account_id,
            "role": "recipient",
            "declaration_id": "decl-1",
            "person_kind": "natural",
        }
    ]
    [link] = await rig.payloads(ACTIVATION)
    assert link["email"] == "jeanne@example.org"
    assert link["identifier"] == account["display_identifier"]
    assert (await rig.link_url(link)).startswith(f"{rig.settings.issuer}/activation?token=")
    assert link["expires_at"].startswith("2031-03-07T08:00:00")  # 72 h later
    stored = await rig.store.find("links", {"account_id": account_id})
    token = token_of(await rig.link_url(link))
    assert token not in str(stored), "the link token is stored hashed"


async def test_the_same_declaration_delivered_twice_or_redeclared_opens_one_account(
    rig: Rig,
) -> None:
    await rig.declare("decl-1")
    envelope = declaration_envelope(rig.clock, "decl-1", "a@example.org")
    from identity.consumers import declarations_subscription
    from shared.messaging.inbox import Inbox

    inbox = Inbox(
        rig.store, "identity.accounts", rig.clock, transaction=rig.identity.ctx.outbox.transaction
    )
    handler = declarations_subscription(rig.identity.accounts, inbox).handler
    await handler(envelope)
    await handler(envelope)

    assert await rig.store.count("accounts") == 1
    assert len(await rig.payloads(ACTIVATION)) == 1


async def test_activation_sets_the_password_and_the_link_cannot_be_replayed(rig: Rig) -> None:
    account_id = await rig.declare()
    token = await rig.activation_token(account_id)

    activated = await rig.identity.accounts.activate(token, PASSWORD)

    assert activated.account_id == account_id
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["status"] == AccountStatus.ACTIVE
    assert account["password_hash"].startswith("$argon2id$")
    error = await refused(rig.identity.accounts.activate(token, "un-autre-mot-de-passe"))
    assert (error.status, error.code) == (410, "link-invalid")


async def test_an_expired_activation_link_is_refused(rig: Rig) -> None:
    account_id = await rig.declare()
    token = await rig.activation_token(account_id)
    rig.clock.advance(timedelta(hours=72))

    error = await refused(rig.identity.accounts.activate(token, PASSWORD))
    assert error.code == "link-invalid"


async def test_an_activation_link_just_before_expiry_still_works(rig: Rig) -> None:
    account_id = await rig.declare()
    token = await rig.activation_token(account_id)
    rig.clock.advance(timedelta(hours=72) - timedelta(seconds=1))

    assert (await rig.identity.accounts.activate(token, PASSWORD)).account_id == account_id


async def test_a_newer_activation_link_invalidates_the_older_one(rig: Rig) -> None:
    account_id = await rig.declare()
    older = await rig.activation_token(account_id)

    await rig.identity.accounts.reissue_activation_link(account_id, actor="operator:op")
    newer = await rig.activation_token(account_id)

    assert newer != older
    assert (await refused(rig.identity.accounts.activate(older, PASSWORD))).code == "link-invalid"
    assert (await rig.identity.accounts.activate(newer, PASSWORD)).account_id == account_id


async def test_an_unknown_link_and_a_reset_link_used_for_activation_are_refused(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads("identity.password-reset-requested.v2")

    for token in ("forged-token", token_of(await rig.link_url(reset))):
        assert (await refused(rig.identity.accounts.activate(token, PASSWORD))).status == 410


@pytest.mark.parametrize(
    ("password", "reason"),
    [("trop-court", "too_short"), ("motdepasse2024", "common"), ("azertyuiop2025", "common")],
)
async def test_activation_refuses_a_weak_password_and_keeps_the_link(
    rig: Rig, password: str, reason: str
) -> None:
    account_id = await rig.declare()
    token = await rig.activation_token(account_id)

    error = await refused(rig.identity.accounts.activate(token, password))

    assert (error.status, error.code, error.extra["reason"]) == (422, "password-rejected", reason)
    assert (await rig.identity.accounts.activate(token, PASSWORD)).account_id == account_id


async def test_activation_refuses_the_identifier_as_password(rig: Rig) -> None:
    account_id = await rig.declare()
    identifier = await rig.identifier(account_id)
    error = await refused(
        rig.identity.accounts.activate(await rig.activation_token(account_id), identifier)
    )
    assert error.extra["reason"] == "is_identifier"


async def test_password_reset_sets_a_new_password_and_revokes_every_session(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads("identity.password-reset-requested.v2")
    assert (await rig.link_url(reset)).startswith(f"{rig.settings.issuer}/reinitialisation?token=")

    rig.clock.advance(timedelta(minutes=59))
    await rig.identity.accounts.complete_password_reset(
        token_of(await rig.link_url(reset)), "nouvelle-phrase-secrete"
    )

    [revoked] = await rig.payloads("identity.credentials-revoked.v1")
    assert revoked["reason"] == "password_reset"
    assert tokens.session_id in revoked["session_ids"]
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.login(account_id, "nouvelle-phrase-secrete")).account_id == account_id
    with pytest.raises(IdentityError):
        await rig.login(account_id, PASSWORD)


async def test_a_reset_link_expires_after_an_hour(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads("identity.password-reset-requested.v2")
    token = token_of(await rig.link_url(reset))
    rig.clock.advance(timedelta(hours=1))

    error = await refused(rig.identity.accounts.complete_password_reset(token, "x" * 20))
    assert error.code == "link-invalid"


async def test_a_reset_for_an_unknown_or_unactivated_identifier_says_nothing_and_sends_nothing(
    rig: Rig,
) -> None:
    pending = await rig.declare("decl-9")
    await rig.identity.accounts.request_password_reset("NOPE-NOPE-NOPE", ip=IP)
    await rig.identity.accounts.request_password_reset(await rig.identifier(pending), ip=IP)
    assert await rig.payloads("identity.password-reset-requested.v2") == []


async def test_password_change_needs_the_current_password_and_a_strong_new_one(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    accounts = rig.identity.accounts

    wrong = await refused(accounts.change_password(account_id, "pas-le-bon-mdp", "x" * 20))
    assert (wrong.status, wrong.code) == (403, "invalid-current-password")
    weak = await refused(accounts.change_password(account_id, PASSWORD, "azerty123456"))
    assert weak.code == "password-rejected"

    await accounts.change_password(account_id, PASSWORD, "une-toute-nouvelle-phrase")
    assert (await rig.login(account_id, "une-toute-nouvelle-phrase")).account_id == account_id


async def test_a_terminated_account_can_log_in_read_only_and_change_nothing(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()

    await rig.identity.accounts.terminate(account_id)

    [terminated] = await rig.payloads("identity.account-terminated.v1")
    assert terminated["reason"] == "recipient_request"
    assert terminated["declaration_id"] == "decl-1"
    [revoked] = await rig.payloads("identity.credentials-revoked.v1")
    assert tokens.session_id in revoked["session_ids"]
    rig.clock.advance(timedelta(seconds=1))
    session = await rig.login(account_id)
    assert session.scopes == frozenset({ACTS_READ})
    accounts = rig.identity.accounts
    for call in (
        accounts.change_password(account_id, PASSWORD, "une-toute-nouvelle-phrase"),
        accounts.enrol_totp(account_id),
    ):
        assert (await refused(call)).code == "account-read-only"
    assert (await refused(accounts.terminate(account_id))).code == "already-terminated"


async def test_a_suspended_account_cannot_log_in_until_reinstated(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()

    await rig.identity.accounts.suspend(account_id, "compromission", operator="op-1")

    [suspended] = await rig.payloads("identity.account-suspended.v1")
    assert suspended == {"account_id": account_id, "reason": "compromission"}
    [revoked] = await rig.payloads("identity.credentials-revoked.v1")
    assert revoked["reason"] == "suspension"
    assert (await refused(rig.login(account_id))).code == "account-suspended"
    assert (await refused(rig.identity.sessions.refresh(tokens.refresh_token))).status == 401
    outcomes = [p["outcome"] for p in await rig.payloads("identity.identification-attempted.v1")]
    assert outcomes[-1] == "suspended"

    await rig.identity.accounts.reinstate(account_id, operator="op-1")
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.login(account_id)).account_id == account_id
    assert len(await rig.payloads("identity.account-reinstated.v1")) == 1


async def test_operators_are_created_active_with_unique_identifiers(rig: Rig) -> None:
    account_id = await rig.identity.accounts.create_operator("ops-admin", PASSWORD)
    tokens = await rig.identity.sessions.login("OPS-ADMIN", PASSWORD, ip=IP)

    assert tokens.account_id == account_id
    assert tokens.role == "operator"
    assert "identity:admin" in tokens.scopes
    duplicate = await refused(rig.identity.accounts.create_operator("opsadmin", PASSWORD))
    assert duplicate.status == 409
    weak = await refused(rig.identity.accounts.create_operator("ops-2", "azertyuiop12"))
    assert weak.code == "password-rejected"
