"""Pure rules of retention: when each clock falls due, what each erasure waits for.

**End-of-month rule (chosen and tested):** adding N calendar months keeps the day of the month
and the wall-clock time *in the platform's legal time* (Europe/Paris by default), and clamps the
day to the last day of the target month when it has no such day: 31 Dec + 2 months = 28 Feb
(29 Feb in a leap year); 31 Mar + 2 months = 31 May; 29 Feb 2028 + 5 years = 28 Feb 2033. This
is the reading of C. civ. 641 al. 2 / CPC 641 for month-based periods ("à défaut d'un quantième
identique, le délai expire le dernier jour du mois"). A local time that does not exist in the
target day (the spring DST gap) is moved forward by the gap, never backward: the due instant is
never earlier than the rule says. The account erasure is the exception: it ends a period the
person has (two months to read the acts), so it falls at 24:00 of the last day instead.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.contracts.retention import ErasurePurpose, Participant
from shared.legal_calendar import months_period_end


class Purpose(StrEnum):
    """What a schedule does when it falls due."""

    # CGU §12 (seed CGU §11.1: termination keeps the acts readable two months): then erased.
    ACCOUNT_ERASURE = "account_erasure"
    # Décret 2021-1625 art. 21: the registry's data destroyed five years after revocation;
    # with it every copy of the person's data, the acts of an account never terminated too.
    REGISTRY_PURGE = "registry_purge"
    TERMS_EFFECTIVE = "terms_effective"  # CGU §4: re-acceptance at the effective date


class ConsentEnd(StrEnum):
    """How a consent ended (each starts the registry's five years)."""

    REVOCATION = "revocation"
    TERMINATION = "termination"
    EXPIRY = "expiry"
    REFUSAL = "refusal"
    NEVER_ACTIVATED = "never_activated"


NEVER_CONSENTED = frozenset({ConsentEnd.REFUSAL, ConsentEnd.NEVER_ACTIVATED})
"""Ends of a declaration that was never active: the first CGU (or the declaration) refused,
or the account never activated."""


ERASURE_PURPOSE = {
    Purpose.ACCOUNT_ERASURE: ErasurePurpose.ACCOUNT_ERASURE,
    Purpose.REGISTRY_PURGE: ErasurePurpose.REGISTRY_PURGE,
}


def add_months_to_date(day: date, months: int) -> date:
    """`day` plus `months` calendar months, clamped to the last day of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_months(instant: datetime, months: int, zone: ZoneInfo) -> datetime:
    """The instant `months` calendar months after `instant`, counted in `zone`'s legal time
    (same wall-clock time, end-of-month clamp), returned in UTC."""
    if instant.tzinfo is None:
        raise ValueError("an aware instant is required")
    local = instant.astimezone(zone)
    target = add_months_to_date(local.date(), months)
    wall = datetime.combine(target, local.time().replace(tzinfo=None))
    # In the spring DST gap the wall time does not exist; with fold=0 (the default) PEP 495
    # applies the offset from before the switch, which reads back one hour later: forward,
    # never earlier than the rule.
    return wall.replace(tzinfo=zone).astimezone(UTC)


def account_erasure_due(terminated_at: datetime, grace_months: int, zone: ZoneInfo) -> datetime:
    """Seed CGU §11.1 and §12: acts stay readable `grace_months` (2) after termination, then
    are erased (identity's contacts and delivery's copy of the addresses with them). The
    period ends at 24:00 of its last day in `zone`'s legal time (CPC 641), not at the clock
    time of the termination: identity's read-only period ends at the same instant (both call
    `shared.legal_calendar.months_period_end`)."""
    return months_period_end(terminated_at, grace_months, zone)


def registry_purge_due(revoked_at: datetime, years: int, zone: ZoneInfo) -> datetime:
    """Décret 2021-1625 art. 21: the declaration's data is destroyed `years` (5) after the
    revocation instant (seed CGU §12 promises the same for the acts of a person who revoked
    and never terminated; an expiry, a termination or a refusal ends the consent likewise)."""
    return add_months(revoked_at, 12 * years, zone)


def consent_data_purge_due(
    ended_at: datetime, end: ConsentEnd, years: int, zone: ZoneInfo
) -> datetime:
    """When an ended declaration's data (proofs, identity, account) is destroyed.

    - A consent that existed (revoked, terminated, expired): `years` (5) after it ended
      (décret 2021-1625 art. 21 — the registry must be able to answer for it that long).
    - A declaration never active (`NEVER_CONSENTED`): at once. No consent was ever given, so
      art. 21's five years, which concern consents that existed, do not apply; the data served
      only to obtain a consent that will not come, and is not kept longer than that purpose
      needs (RGPD art. 5(1)(c) data minimisation, 5(1)(e) storage limitation)."""
    if end in NEVER_CONSENTED:
        return ended_at
    return registry_purge_due(ended_at, years, zone)


def schedule_id(purpose: Purpose, subject: str) -> str:
    """One schedule per (subject, purpose): the id is the pair, so a redelivered event collides."""
    return f"{purpose.value}|{subject}"


def erasure_id_for(schedule: str) -> str:
    """One erasure per schedule, whatever the number of firings attempted."""
    return f"erasure|{schedule}"


def first_participants(purpose: Purpose, *, has_account: bool) -> tuple[Participant, ...]:
    """Who is asked first. Audit always waits for delivery's list of acts, since each act is an
    audit subject of its own. Account erasure: delivery (acts) and identity (contacts).
    Registry purge: consent (the registry), delivery (its copy of the registry, and the acts
    of an account never terminated) and identity (the account, when there is one)."""
    if purpose is Purpose.ACCOUNT_ERASURE:
        return (Participant.DELIVERY, Participant.IDENTITY)
    if purpose is Purpose.REGISTRY_PURGE:
        parts = [Participant.CONSENT, Participant.DELIVERY]
        if has_account:
            parts.append(Participant.IDENTITY)
        return tuple(parts)
    return ()


def expected_participants(purpose: Purpose, *, has_account: bool) -> frozenset[Participant]:
    """Every confirmation the erasure needs before it counts as complete."""
    if purpose is Purpose.ACCOUNT_ERASURE:
        return frozenset({Participant.DELIVERY, Participant.AUDIT, Participant.IDENTITY})
    return frozenset({*first_participants(purpose, has_account=has_account), Participant.AUDIT})


def missing_participants(expected: Iterable[str], confirmed: Iterable[str]) -> list[Participant]:
    """Expected participants whose confirmation is not in, in a stable order."""
    done = set(confirmed)
    return sorted((Participant(p) for p in expected if p not in done), key=lambda p: p.value)


def audit_subjects(
    account_id: str | None,
    declaration_id: str | None,
    act_ids: Iterable[str],
    lookup_ids: Iterable[str] = (),
) -> list[str]:
    """The audit subjects whose payload keys an erasure shreds: the account's, the
    declaration's, each act's (its payloads name the person's declaration and account) and
    each registry lookup that found the declaration (its payload names it)."""
    subjects: list[str] = []
    if account_id:
        subjects.append(f"account:{account_id}")
    if declaration_id:
        subjects.append(f"declaration:{declaration_id}")
    subjects.extend(f"act:{act_id}" for act_id in sorted(set(act_ids)))
    subjects.extend(f"registry-lookup:{lookup}" for lookup in sorted(set(lookup_ids)))
    return subjects


def confirmation_deadline(started_at: datetime, timeout: timedelta) -> datetime:
    return started_at + timeout
