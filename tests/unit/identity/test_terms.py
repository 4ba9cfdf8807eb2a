"""CGU: the seeded first version, publication notice, acceptance as consent, refusal."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from identity.domain import PARIS, RECIPIENT_SCOPES, TERMINATED_SCOPES, TERMS_PENDING_SCOPES
from tests.unit.identity.support import IP, Rig, make_rig, refused

NEW_TEXT = "# CGU\n\n*Version 2*\n\nTexte modifié.\n"


async def test_version_one_is_seeded_once_with_its_hash_and_is_in_force(rig: Rig) -> None:
    await rig.identity.terms.seed()

    current = await rig.identity.terms.current()
    assert current.version == 1
    assert current.effective_at == rig.clock.now()
    assert "662-1" in current.markdown
    assert "664-1" in current.markdown
    assert current.content_hash == hashlib.sha256(current.markdown.encode()).hexdigest()
    assert len(await rig.payloads("identity.terms-published.v1")) == 1


async def test_accepting_records_the_evidence_and_publishes_the_consent_event(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient(accept_terms=False)

    decision = await rig.identity.terms.accept(
        account_id, version=1, ip=IP, user_agent="Firefox/140"
    )

    assert decision.accepted
    record = await rig.store.get("terms_decisions", f"{account_id}:1")
    assert record is not None
    current = await rig.identity.terms.current()
    assert (record["decision"], record["content_hash"], record["ip"], record["user_agent"]) == (
        "accepted",
        current.content_hash,
        IP,
        "Firefox/140",
    )
    assert record["at"] == "2031-03-04T08:00:00.000000Z"
    [accepted] = await rig.payloads("identity.terms-accepted.v1")
    assert accepted["declaration_id"] == "decl-1"
    assert accepted["terms_version"] == 1
    # A second acceptance changes nothing.
    await rig.identity.terms.accept(account_id, version=None, ip=IP, user_agent="x")
    assert len(await rig.payloads("identity.terms-accepted.v1")) == 1


async def test_publishing_needs_a_full_calendar_month_of_notice(rig: Rig) -> None:
    await rig.identity.accounts.create_operator("ops", "phrase-de-passe-solide")
    now = rig.clock.now()
    earliest = datetime(2031, 4, 4, 9, 0, tzinfo=PARIS).astimezone(UTC)

    too_soon = await refused(
        rig.identity.terms.publish(NEW_TEXT, earliest - timedelta(seconds=1), operator="op")
    )

    assert (too_soon.status, too_soon.code) == (422, "terms-notice-too-short")
    assert too_soon.extra["earliest_effective_at"] == earliest.isoformat()
    published = await rig.identity.terms.publish(NEW_TEXT, earliest, operator="op")
    assert published.version == 2
    assert (await rig.identity.terms.current()).version == 1
    assert [v.version for v in await rig.identity.terms.upcoming()] == [2]
    assert now < earliest


async def test_the_notice_from_31_january_ends_on_the_last_day_of_february(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, start=datetime(2031, 1, 31, 10, 0, tzinfo=PARIS))
    earliest = datetime(2031, 2, 28, 10, 0, tzinfo=PARIS)

    error = await refused(
        rig.identity.terms.publish(NEW_TEXT, earliest - timedelta(minutes=1), operator="op")
    )
    assert error.extra["earliest_effective_at"] == earliest.astimezone(UTC).isoformat()
    assert (await rig.identity.terms.publish(NEW_TEXT, earliest, operator="op")).version == 2


async def test_each_active_recipient_is_warned_of_a_new_version(rig: Rig) -> None:
    first, _ = await rig.active_recipient("decl-1")
    second, _ = await rig.active_recipient("decl-2")
    await rig.declare("decl-3")  # not activated: nobody to warn yet

    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")
    # The publication only schedules the notices; the background fan-out writes them.
    assert await rig.payloads("identity.terms-notice-issued.v1") == []
    assert await rig.identity.terms.fan_out_notices() == 2

    notices = await rig.payloads("identity.terms-notice-issued.v1")
    assert sorted(n["account_id"] for n in notices) == sorted([first, second])
    assert {n["email"] for n in notices} == {"decl-1@example.org", "decl-2@example.org"}


async def test_from_its_effective_date_a_new_version_gates_the_next_login(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    assert tokens.scopes == RECIPIENT_SCOPES
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")

    rig.clock.set(effective - timedelta(seconds=1))
    before = await rig.login(account_id)
    assert before.scopes == RECIPIENT_SCOPES
    rig.clock.set(effective)
    gated = await rig.login(account_id)
    assert gated.scopes == TERMS_PENDING_SCOPES
    # A live session's next refresh is gated too.
    refreshed = await rig.identity.sessions.refresh(before.refresh_token)
    assert refreshed.scopes == TERMS_PENDING_SCOPES

    stale = await refused(rig.identity.terms.accept(account_id, version=1, ip=IP, user_agent="x"))
    assert (stale.status, stale.extra["current_version"]) == (409, 2)
    await rig.identity.terms.accept(account_id, version=2, ip=IP, user_agent="x")
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.login(account_id)).scopes == RECIPIENT_SCOPES


async def test_refusing_the_first_version_gives_no_access_and_no_termination(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient(accept_terms=False)

    decision = await rig.identity.terms.refuse(
        account_id, version=1, session_id=tokens.session_id, ip=IP, user_agent="x"
    )

    assert (decision.accepted, decision.terminated) == (False, False)
    [refused_event] = await rig.payloads("identity.terms-refused.v1")
    assert refused_event["leads_to_termination"] is False
    [revoked] = await rig.payloads("identity.session-revoked.v1")
    assert revoked["reason"] == "terms_refused"
    assert await rig.payloads("identity.account-terminated.v1") == []
    assert await rig.payloads("identity.terms-accepted.v1") == []
    rig.clock.advance(timedelta(seconds=1))
    # The refusal is final: no session, not even one to answer the CGU again.
    again = await refused(rig.login(account_id))
    assert (again.status, again.code) == (403, "terms-refused")


async def test_refusing_a_new_version_terminates_the_account(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")
    rig.clock.set(effective)
    gated = await rig.login(account_id)

    decision = await rig.identity.terms.refuse(
        account_id, version=2, session_id=gated.session_id, ip=IP, user_agent="x"
    )

    assert decision.terminated
    [terminated] = await rig.payloads("identity.account-terminated.v1")
    assert terminated["reason"] == "terms_refused"
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.login(account_id)).scopes == TERMINATED_SCOPES
    again = await refused(rig.identity.terms.accept(account_id, version=2, ip=IP, user_agent="x"))
    assert again.code == "terms-not-applicable"


async def test_operators_have_no_cgu_to_answer(rig: Rig) -> None:
    operator = await rig.identity.accounts.create_operator("ops", "phrase-de-passe-solide")
    error = await refused(rig.identity.terms.accept(operator, version=None, ip=IP, user_agent=""))
    assert error.code == "terms-not-applicable"
