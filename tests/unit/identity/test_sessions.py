"""Login, lockout, identification journal, refresh rotation and reuse, logout, TOTP."""

from __future__ import annotations

import json
from datetime import timedelta

from identity import totp
from identity.domain import RECIPIENT_SCOPES, TERMS_PENDING_SCOPES
from shared.auth import Principal
from tests.unit.identity.support import IP, PASSWORD, Rig, plain_verifier, refused

IDENTIFICATION = "identity.identification-attempted.v1"


async def test_unknown_identifier_and_wrong_password_get_the_same_answer(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)

    unknown = await refused(rig.identity.sessions.login("ZZZZ-ZZZZ-ZZZZ", PASSWORD, ip=IP))
    wrong = await refused(rig.identity.sessions.login(identifier, "mauvais-mot-de-passe", ip=IP))

    assert (unknown.status, unknown.code, unknown.detail) == (
        wrong.status,
        wrong.code,
        wrong.detail,
    )
    assert unknown.status == 401


async def test_an_account_not_yet_activated_cannot_log_in(rig: Rig) -> None:
    account_id = await rig.declare()
    assert (await refused(rig.login(account_id))).code == "invalid-credentials"


async def test_every_identification_is_journaled_without_identifier_password_or_ip(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    await refused(rig.identity.sessions.login(identifier, "mauvais-mot-de-passe", ip=IP))
    await refused(rig.identity.sessions.login("inconnu-123", "x", ip=IP))

    events = await rig.events(IDENTIFICATION)
    outcomes = [(e.payload["account_id"], e.payload["outcome"]) for e in events]
    assert outcomes == [
        (account_id, "succeeded"),
        (account_id, "succeeded"),
        (account_id, "failed"),
        (None, "failed"),
    ]
    text = json.dumps([e.model_dump(mode="json") for e in events])
    for secret in (identifier, identifier.replace("-", ""), PASSWORD, "inconnu-123", IP):
        assert secret not in text
    assert {e.payload["ip_hash"] for e in events} == {events[0].payload["ip_hash"]}
    assert len(events[0].payload["ip_hash"]) == 64


async def test_lockout_after_five_failures_grows_and_ends(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    for _ in range(5):
        await refused(rig.login(account_id, "mauvais-mot-de-passe"))
    # The fifth failure starts a 1 s delay: even the right password waits.
    locked = await refused(rig.login(account_id))
    assert (locked.status, locked.headers["Retry-After"]) == (429, "1")

    rig.clock.advance(timedelta(seconds=1))
    await refused(rig.login(account_id, "mauvais-mot-de-passe"))  # 6th: 2 s
    assert (await refused(rig.login(account_id))).headers["Retry-After"] == "2"
    rig.clock.advance(timedelta(seconds=2))
    await refused(rig.login(account_id, "mauvais-mot-de-passe"))  # 7th: 4 s
    assert (await refused(rig.login(account_id))).headers["Retry-After"] == "4"

    rig.clock.advance(timedelta(seconds=4))
    assert (await rig.login(account_id)).account_id == account_id
    # Success resets the account's counter.
    await refused(rig.login(account_id, "mauvais-mot-de-passe"))
    assert (await rig.login(account_id)).account_id == account_id
    # The three lockouts are in the journal: one by one, or counted in a window's summary.
    journaled = [p["outcome"] for p in await rig.payloads(IDENTIFICATION)]
    summaries = await rig.payloads("identity.identification-attempts-summarized.v1")
    counted = sum(s["outcomes"].get("throttled", 0) for s in summaries)
    assert journaled.count("throttled") + counted == 3


async def test_the_lockout_is_capped_at_fifteen_minutes(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    for _ in range(30):
        await refused(rig.login(account_id, "mauvais-mot-de-passe", ip=f"198.51.100.{_}"))
        rig.clock.advance(timedelta(minutes=15))
    await refused(rig.login(account_id, "mauvais-mot-de-passe"))
    assert (await refused(rig.login(account_id))).headers["Retry-After"] == "900"


async def test_an_address_guessing_many_identifiers_is_throttled(rig: Rig) -> None:
    for n in range(20):
        await refused(rig.identity.sessions.login(f"guess-{n}", "x", ip="203.0.113.9"))
    throttled = await refused(rig.identity.sessions.login("guess-x", "x", ip="203.0.113.9"))
    assert throttled.status == 429
    other = await refused(rig.identity.sessions.login("guess-x", "x", ip="203.0.113.10"))
    assert other.status == 401


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(rig: Rig) -> None:
    account_id, first = await rig.active_recipient()
    sessions = rig.identity.sessions

    second = await sessions.refresh(first.refresh_token)
    third = await sessions.refresh(second.refresh_token)
    assert third.session_id == first.session_id
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert third.scopes == RECIPIENT_SCOPES

    reuse = await refused(sessions.refresh(first.refresh_token))
    assert (reuse.status, reuse.code) == (401, "invalid-refresh-token")
    # The thief's newest token dies with the family.
    assert (await refused(sessions.refresh(third.refresh_token))).status == 401
    [revoked] = await rig.payloads("identity.session-revoked.v1")
    assert revoked == {
        "account_id": account_id,
        "session_id": first.session_id,
        "reason": "refresh_token_reuse",
    }


async def test_refresh_tokens_die_with_their_session_lifetime(rig: Rig) -> None:
    _, tokens = await rig.active_recipient()
    rig.clock.advance(timedelta(hours=12))
    assert (await refused(rig.identity.sessions.refresh(tokens.refresh_token))).status == 401


async def test_logout_revokes_the_session_for_identity_and_publishes_it(rig: Rig) -> None:
    _, tokens = await rig.active_recipient()
    principal = await principal_of(rig, tokens.access_token)
    assert not await rig.identity.revocations.is_revoked(principal)

    await rig.identity.sessions.logout(principal)

    assert await rig.identity.revocations.is_revoked(principal)
    [revoked] = await rig.payloads("identity.session-revoked.v1")
    assert revoked["reason"] == "logout"
    assert (await refused(rig.identity.sessions.refresh(tokens.refresh_token))).status == 401
    recent = await rig.identity.sessions.recent_revocations(rig.clock.now() - timedelta(hours=1))
    assert recent["sessions"] == [{"session_id": tokens.session_id}]


async def test_credential_revocation_refuses_older_tokens_but_not_newer_ones(rig: Rig) -> None:
    account_id, before = await rig.active_recipient()
    old = await principal_of(rig, before.access_token)

    rig.clock.advance(timedelta(milliseconds=1))
    await rig.identity.accounts.revoke_all_credentials(account_id, operator="op-1")
    rig.clock.advance(timedelta(milliseconds=1))
    after = await rig.login(account_id)

    assert await rig.identity.revocations.is_revoked(old)
    assert not await rig.identity.revocations.is_revoked(
        await principal_of(rig, after.access_token)
    )
    recent = await rig.identity.sessions.recent_revocations(rig.clock.now() - timedelta(hours=1))
    assert [s["subject"] for s in recent["subjects"]] == [account_id]


async def test_revocations_older_than_a_token_lifetime_are_not_served(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.revoke_all_credentials(account_id, operator="op-1")
    rig.clock.advance(timedelta(minutes=13))
    recent = await rig.identity.sessions.recent_revocations(rig.clock.now() - timedelta(days=1))
    assert recent == {"sessions": [], "subjects": []}


async def test_totp_enrolment_then_login_needs_a_fresh_code_or_a_recovery_code(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    accounts = rig.identity.accounts
    enrolment = await accounts.enrol_totp(account_id)
    assert enrolment.provisioning_uri.startswith("otpauth://totp/")
    assert (await refused(accounts.confirm_totp(account_id, "000000"))).status == 422
    codes = await accounts.confirm_totp(account_id, totp.code_at(enrolment.secret, rig.clock.now()))
    assert len(codes) == 10

    rig.clock.advance(timedelta(seconds=30))
    needed = await refused(rig.login(account_id))
    assert (needed.status, needed.code) == (401, "second-factor-required")
    code = totp.code_at(enrolment.secret, rig.clock.now())
    tokens = await rig.login(account_id, second_factor=code)
    assert tokens.account_id == account_id
    # The same code again is a replay.
    replay = await refused(rig.login(account_id, second_factor=code))
    assert replay.code == "invalid-second-factor"

    assert (await rig.login(account_id, second_factor=codes[0].upper())).account_id == account_id
    assert (await refused(rig.login(account_id, second_factor=codes[0]))).status == 401
    profile = await accounts.profile(account_id)
    assert (profile["totp_enabled"], profile["recovery_codes_left"]) == (True, 9)

    await accounts.disable_totp(account_id, PASSWORD)
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.login(account_id)).account_id == account_id


async def test_a_recipient_who_has_not_accepted_the_cgu_may_only_answer_them(rig: Rig) -> None:
    _, tokens = await rig.active_recipient(accept_terms=False)
    assert tokens.scopes == TERMS_PENDING_SCOPES
    assert tokens.terms_acceptance_required


async def principal_of(rig: Rig, token: str) -> Principal:
    # Signature and claims only: revocation is what these tests look at.
    return await plain_verifier(rig).verify(token)
