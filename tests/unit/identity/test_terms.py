"""CGU: the seeded first version, publication notice, acceptance as consent, refusal."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from identity.domain import (
    PARIS,
    RECIPIENT_SCOPES,
    TERMINATED_SCOPES,
    TERMS_ANSWER_PENDING_SCOPES,
)
from identity.terms import Terms
from retention.domain import account_erasure_due
from shared.legal_calendar import Territory, notice_period_end
from tests.unit.identity.support import IP, Rig, make_rig, refused

# The latest legal time of the territories (Guadeloupe, Martinique, Saint-Martin: UTC-4): identity
# does not know the person's, so 24:00 is taken there.
ATLANTIC = ZoneInfo("America/Guadeloupe")
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


async def test_publishing_needs_a_month_from_the_deemed_receipt_to_24_00(rig: Rig) -> None:
    # Published Tuesday 4 March 2031 09:00: deemed received Wednesday 5 March (first jour
    # ouvré after); a month later is Saturday 5 April, extended to Monday 7 April (CPC 642),
    # ending at 24:00 in the latest legal time of the territories (UTC-4).
    earliest = datetime(2031, 4, 8, 0, 0, tzinfo=ATLANTIC).astimezone(UTC)

    too_soon = await refused(
        rig.identity.terms.publish(NEW_TEXT, earliest - timedelta(seconds=1), operator="op")
    )

    assert (too_soon.status, too_soon.code) == (422, "terms-notice-too-short")
    assert too_soon.extra["earliest_effective_at"] == earliest.isoformat()
    published = await rig.identity.terms.publish(NEW_TEXT, earliest, operator="op")
    assert published.version == 2
    assert (await rig.identity.terms.current()).version == 1
    assert [v.version for v in await rig.identity.terms.upcoming()] == [2]


async def test_cgu_notice_deemed_received_on_the_first_jour_ouvre_after_a_weekend_and_holiday(
    tmp_path: Path,
) -> None:
    # Presented Friday 31 October 2031 at 17:00: Saturday 1 November is a holiday, Sunday
    # follows: deemed received Monday 3 November; bound from the end of 3 December.
    rig = await make_rig(tmp_path, start=datetime(2031, 9, 1, 10, 0, tzinfo=PARIS))
    account_id, _ = await rig.active_recipient()
    effective = datetime(2031, 11, 3, 10, 0, tzinfo=PARIS)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")
    presented = datetime(2031, 10, 31, 17, 0, tzinfo=PARIS)
    rig.clock.set(presented)
    assert await rig.present_notices() == 1

    [notice] = (await rig.identity.terms.for_account(account_id)).notices
    assert notice.deemed_received_on == date(2031, 11, 3)
    binds = datetime(2031, 12, 4, 0, 0, tzinfo=ATLANTIC)
    assert notice.binds_from == binds
    # The version is in force (3 November) but does not bind this account yet.
    rig.clock.set(binds - timedelta(seconds=1))
    assert (await rig.login(account_id)).scopes == RECIPIENT_SCOPES
    rig.clock.set(binds)
    assert (await rig.login(account_id)).scopes == TERMS_ANSWER_PENDING_SCOPES


async def test_cgu_notice_ending_on_whit_monday_runs_to_the_next_jour_ouvrable(
    tmp_path: Path,
) -> None:
    # Presented Wednesday 30 April 2031: 1 May is a holiday, deemed received Friday 2 May; a
    # month later is Whit Monday 2 June: the notice runs to Tuesday 3 June at 24:00.
    rig = await make_rig(tmp_path, start=datetime(2031, 4, 30, 15, 0, tzinfo=PARIS))
    account_id, _ = await rig.active_recipient()
    await rig.identity.terms.publish(
        NEW_TEXT, datetime(2031, 6, 4, 12, 0, tzinfo=PARIS), operator="op"
    )
    await rig.present_notices()

    [notice] = (await rig.identity.terms.for_account(account_id)).notices
    assert notice.deemed_received_on == date(2031, 5, 2)
    # The version's own date is later: it is the one that binds.
    assert notice.binds_from == datetime(2031, 6, 4, 12, 0, tzinfo=PARIS)
    assert notice_period_end(date(2031, 5, 2), 1, [Territory.METROPOLE]) == datetime(
        2031, 6, 4, 0, 0, tzinfo=PARIS
    )


async def test_an_account_whose_cgu_notice_never_left_is_not_bound(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")
    await rig.identity.terms.fan_out_notices()  # issued, never presented

    rig.clock.set(effective + timedelta(days=90))
    assert (await rig.login(account_id)).scopes == RECIPIENT_SCOPES
    counts = await rig.identity.terms.notice_counts(2)
    assert (counts.notified, counts.deemed_received, counts.bound) == (1, 0, 0)


async def test_accounts_activated_before_the_effective_date_get_the_cgu_notice_too(
    rig: Rig,
) -> None:
    first, _ = await rig.active_recipient("decl-1")
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")
    rig.clock.advance(timedelta(days=3))
    late, _ = await rig.active_recipient("decl-2")
    await rig.identity.terms.fan_out_notices()

    notices = await rig.payloads("identity.terms-notice-issued.v1")
    assert sorted(n["account_id"] for n in notices) == sorted([first, late])
    assert await rig.present_notices() == 2
    rig.clock.set(effective)
    counts = await rig.identity.terms.notice_counts(2)
    assert (counts.notified, counts.deemed_received, counts.bound) == (2, 2, 2)


async def test_the_corrected_cgu_v2_is_published_at_start_with_a_notice_per_account(
    tmp_path: Path,
) -> None:
    rig = await make_rig(tmp_path)
    account_id, _ = await rig.active_recipient()
    # The next start ships the corrected text: published, not in force, with its notice.
    settings = rig.settings.model_copy(update={"publish_shipped_terms": True})
    terms = Terms(replace(rig.identity.ctx, settings=settings))
    [published] = await terms.publish_shipped()
    assert await terms.publish_shipped() == []

    assert published.version == 2
    assert "jour ouvré" in published.markdown
    assert "premier jour\nouvrable suivant sa première présentation" not in published.markdown
    assert published.effective_at == datetime(2031, 4, 8, 0, 0, tzinfo=ATLANTIC)
    assert (await terms.current()).version == 1
    await rig.present_notices()
    [notice] = (await terms.for_account(account_id)).notices
    assert notice.binds_from == published.effective_at


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


async def test_a_pending_cgu_version_never_locks_a_person_out_of_served_acts(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    assert tokens.scopes == RECIPIENT_SCOPES
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish(NEW_TEXT, effective, operator="op")
    await rig.present_notices()

    rig.clock.set(effective - timedelta(seconds=1))
    before = await rig.login(account_id)
    assert before.scopes == RECIPIENT_SCOPES
    rig.clock.set(effective)
    pending = await rig.login(account_id)
    # The acts stay open (list, open, download, prove, reply) and the session may answer.
    assert pending.scopes == TERMS_ANSWER_PENDING_SCOPES
    assert {"acts:read", "acts:reply", "terms:accept"} <= pending.scopes
    assert pending.terms_answer_pending
    assert not pending.terms_acceptance_required
    refreshed = await rig.identity.sessions.refresh(before.refresh_token)
    assert refreshed.scopes == TERMS_ANSWER_PENDING_SCOPES

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
    await rig.present_notices()
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


async def test_a_terminated_account_reads_its_acts_until_24_00_of_the_last_day(
    tmp_path: Path,
) -> None:
    rig = await make_rig(tmp_path, start=datetime(2031, 1, 10, 15, 0, tzinfo=PARIS))
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.terminate(account_id)
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    end = datetime(2031, 3, 11, 0, 0, tzinfo=PARIS)  # 10 March at 24:00, not 15:00
    assert account["readable_until"] == "2031-03-10T23:00:00.000000Z"

    rig.clock.set(datetime(2031, 3, 10, 23, 59, tzinfo=PARIS))
    assert (await rig.login(account_id)).scopes == TERMINATED_SCOPES
    rig.clock.set(end)
    assert (await rig.login(account_id)).scopes == frozenset()
    # Retention erases the acts at this very instant.
    assert account_erasure_due(datetime(2031, 1, 10, 15, 0, tzinfo=PARIS), 2, PARIS) == end
