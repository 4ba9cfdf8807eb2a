"""Service window (CPC 664), jours ouvrables and legal days per territory (DESIGN §2, §8).

Every function takes timezone-aware instants (any zone; they are compared as instants) and
evaluates the rule in the territory's legal time. Instants returned are UTC.

Open legal questions are parameters with the conservative default (LEGAL "Open questions"):
which territories govern the window (`ServiceZones`, default both recipient and office) and what
a "business day" of the CGU is (`BusinessDays`, default *jour ouvré*, Monday to Friday).
"""

from __future__ import annotations

import calendar as _gregorian
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays

from shared.legal_calendar.territories import Territory

WINDOW_OPENS: Final = time(6, 0)
WINDOW_CLOSES: Final = time(21, 0)  # exclusive: 21:00:00 is already closed
_SUNDAY: Final = 6
_SATURDAY: Final = 5
_MAX_WINDOW_STEPS: Final = 1000


class ClosureReason(StrEnum):
    SUNDAY = "sunday"
    HOLIDAY = "holiday"
    BEFORE_6 = "before_06_00"
    FROM_21 = "from_21_00"


@dataclass(frozen=True)
class Closure:
    """Why the window is closed in one territory at one instant."""

    territory: Territory
    reason: ClosureReason
    local_time: datetime


class ServiceZones(StrEnum):
    """Whose legal time governs CPC 664 (LEGAL open question 1)."""

    RECIPIENT_AND_OFFICE = "recipient_and_office"
    RECIPIENT = "recipient"
    OFFICE = "office"


class BusinessDays(StrEnum):
    """What the CGU's "business day" means: *jour ouvré* (Mon-Fri) is the later, safer one."""

    JOURS_OUVRES = "jours_ouvres"
    JOURS_OUVRABLES = "jours_ouvrables"


def governing_territories(
    recipient: Territory,
    office: Territory,
    policy: ServiceZones = ServiceZones.RECIPIENT_AND_OFFICE,
) -> frozenset[Territory]:
    """The territories whose window must be open for a service, per `policy`."""
    if policy is ServiceZones.RECIPIENT:
        return frozenset({recipient})
    if policy is ServiceZones.OFFICE:
        return frozenset({office})
    return frozenset({recipient, office})


@lru_cache(maxsize=256)
def _holidays(territory: Territory, year: int) -> frozenset[date]:
    table = holidays.country_holidays(
        "FR", subdiv=territory.holiday_subdivision, years=year, language="en_US"
    )
    days = set(table.keys())
    # Whit Monday stays férié for service purposes even in the years it was worked (2005-2007,
    # journée de solidarité), which the package omits: derive it from its own Easter Monday.
    easter_monday = table.get_named("Easter Monday", lookup="exact")
    if easter_monday:
        days.add(easter_monday[0] + timedelta(days=49))
    return frozenset(days)


# The holidays a statute sets for every employer of the territory (L3133-1 nationally;
# L3134-13 in Alsace-Moselle; L3422-2 overseas: the abolition of slavery). The package also
# lists customary days (Mi-Carême, Victor Schoelcher Day, Good Friday in the Antilles…): they
# close CPC 664's window (« fériés ou chômés ») but set no statutory due date.
_LOCAL_STATUTORY: Final[dict[Territory, frozenset[str]]] = {
    Territory.ALSACE_MOSELLE: frozenset({"Good Friday", "Saint Stephen's Day"}),
    **{
        overseas: frozenset({"Abolition of Slavery"})
        for overseas in (
            Territory.GUADELOUPE,
            Territory.MARTINIQUE,
            Territory.GUYANE,
            Territory.REUNION,
            Territory.MAYOTTE,
            Territory.SAINT_MARTIN,
            Territory.SAINT_BARTHELEMY,
        )
    },
}


@lru_cache(maxsize=256)
def _statutory_holidays(territory: Territory, year: int) -> frozenset[date]:
    national = _holidays(Territory.METROPOLE, year)
    names = _LOCAL_STATUTORY.get(territory, frozenset())
    if not names:
        return national
    table = holidays.country_holidays(
        "FR", subdiv=territory.holiday_subdivision, years=year, language="en_US"
    )
    # One day may carry several names ("Abolition of Slavery; Ascension Day").
    local = {day for day, name in table.items() if names & set(name.split("; "))}
    return national | frozenset(local)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("legal calendar rules need timezone-aware instants")
    return instant


def legal_date(instant: datetime, territory: Territory) -> date:
    """The calendar date of `instant` in the territory's legal time."""
    return _aware(instant).astimezone(territory.time_zone).date()


def is_holiday(day: date, territory: Territory) -> bool:
    """True if `day` is a *jour férié* in the territory."""
    return day in _holidays(territory, day.year)


def is_statutory_holiday(day: date, territory: Territory) -> bool:
    """True if a statute makes `day` a holiday in the territory (L3133-1, L3134-13, L3422-2);
    customary days (`is_holiday` only) are not."""
    return day in _statutory_holidays(territory, day.year)


def _is_service_day(day: date, territory: Territory) -> bool:
    return day.weekday() != _SUNDAY and not is_holiday(day, territory)


def _local_instant(day: date, at: time, territory: Territory) -> datetime:
    return datetime.combine(day, at, tzinfo=territory.time_zone).astimezone(UTC)


def window_closures(instant: datetime, territories: Iterable[Territory]) -> list[Closure]:
    """Every territory (with its reason) whose CPC 664 window is closed at `instant`."""
    closures = []
    for territory in _non_empty(territories):
        local = _aware(instant).astimezone(territory.time_zone)
        reason: ClosureReason | None = None
        if local.weekday() == _SUNDAY:
            reason = ClosureReason.SUNDAY
        elif is_holiday(local.date(), territory):
            reason = ClosureReason.HOLIDAY
        elif local.time() < WINDOW_OPENS:
            reason = ClosureReason.BEFORE_6
        elif local.time() >= WINDOW_CLOSES:
            reason = ClosureReason.FROM_21
        if reason is not None:
            closures.append(Closure(territory, reason, local))
    return closures


def is_service_allowed(instant: datetime, territories: Iterable[Territory]) -> bool:
    """CPC 664: may an act be served at `instant`, checked in every given territory's time?

    Closed on Sundays and holidays, before 06:00:00 and from 21:00:00 on (local legal time).
    """
    return not window_closures(instant, territories)


def _next_opening_in(instant: datetime, territory: Territory) -> datetime:
    local = instant.astimezone(territory.time_zone)
    day = local.date()
    if _is_service_day(day, territory):
        if local.time() < WINDOW_OPENS:
            return _local_instant(day, WINDOW_OPENS, territory)
        if local.time() < WINDOW_CLOSES:
            return instant
    day += timedelta(days=1)
    while not _is_service_day(day, territory):
        day += timedelta(days=1)
    return _local_instant(day, WINDOW_OPENS, territory)


def next_window_opening(instant: datetime, territories: Iterable[Territory]) -> datetime:
    """The first instant at or after `instant` (UTC) when every territory's window is open.

    Returns `instant` itself (in UTC) when the window is already open.
    """
    zones = _non_empty(territories)
    candidate = _aware(instant).astimezone(UTC)
    for _ in range(_MAX_WINDOW_STEPS):
        moved = candidate
        for territory in zones:
            moved = _next_opening_in(moved, territory)
        if moved == candidate:
            return candidate
        candidate = moved
    raise RuntimeError("no common service window found")  # pragma: no cover - unreachable


def is_jour_ouvrable(day: date, territory: Territory) -> bool:
    """Monday to Saturday, holidays excepted (not *jour ouvré*)."""
    return _is_service_day(day, territory)


def first_jour_ouvrable_after(day: date, territory: Territory) -> date:
    """The first *jour ouvrable* strictly after `day` (CPC 662-1 lettre simple due date)."""
    return add_jours_ouvrables(day, 1, territory)


def first_statutory_jour_ouvrable_after(day: date, territory: Territory) -> date:
    """The first day strictly after `day`, Monday to Saturday, that is no statutory holiday of
    the territory (`is_statutory_holiday`): a customary day does not postpone it. The CPC
    662-1 lettre simple is due then, in the territory of the office that posts it."""
    day += timedelta(days=1)
    while day.weekday() == _SUNDAY or is_statutory_holiday(day, territory):
        day += timedelta(days=1)
    return day


def add_jours_ouvrables(day: date, count: int, territory: Territory) -> date:
    """`day` moved forward by `count` *jours ouvrables* (`count` >= 0; 0 returns `day`)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    for _ in range(count):
        day += timedelta(days=1)
        while not is_jour_ouvrable(day, territory):
            day += timedelta(days=1)
    return day


def end_of_legal_day(instant: datetime, territory: Territory) -> datetime:
    """The (exclusive) end of `instant`'s legal day: local midnight that follows, in UTC.

    Used to finalise à personne / à domicile: cognisance before this instant is the same day.
    """
    day = legal_date(instant, territory)
    return _local_instant(day + timedelta(days=1), time(0, 0), territory)


def validity_end(last_day: date, territory: Territory) -> datetime:
    """The first instant no longer covered by something valid until `last_day` inclusive (a
    consent's duration): the local midnight after it, in the territory's legal time. An
    instant is covered if and only if it is before this one, i.e. its legal date is at most
    `last_day`."""
    return _local_instant(last_day + timedelta(days=1), time(0, 0), territory)


def same_legal_day(first: datetime, second: datetime, territory: Territory) -> bool:
    """True if both instants fall on the same date in the territory's legal time."""
    return legal_date(first, territory) == legal_date(second, territory)


def is_business_day(
    day: date, territory: Territory, policy: BusinessDays = BusinessDays.JOURS_OUVRES
) -> bool:
    """A business day of the CGU under `policy` (default Monday to Friday, holidays excepted)."""
    if policy is BusinessDays.JOURS_OUVRES and day.weekday() == _SATURDAY:
        return False
    return is_jour_ouvrable(day, territory)


def first_business_day_after_presentation(
    first_presentation: datetime,
    territory: Territory,
    policy: BusinessDays = BusinessDays.JOURS_OUVRES,
) -> date:
    """The date a CGU notice is deemed received: first business day after its first presentation.

    "After" is strict: a notice presented on a business day is deemed received the next one.
    """
    day = legal_date(first_presentation, territory) + timedelta(days=1)
    while not is_business_day(day, territory, policy):
        day += timedelta(days=1)
    return day


def add_months_to_date(day: date, months: int) -> date:
    """CPC 641 al. 2: the day of the month `months` later that bears the same number, or the
    last day of that month when it has none (31 January + 1 month = 28/29 February)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, _gregorian.monthrange(year, month + 1)[1]))


def months_period_end(start: datetime, months: int, zone: ZoneInfo) -> datetime:
    """The (exclusive) end of a period of `months` calendar months that starts at `start`:
    24:00 of its last day (CPC 641), in `zone`'s legal time, returned in UTC. The clock time
    of `start` does not matter: terminated 10 January at 15:00, two months run until 10 March
    at 24:00."""
    last_day = add_months_to_date(_aware(start).astimezone(zone).date(), months)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)


def notice_last_day(deemed_received_on: date, months: int, territory: Territory) -> date:
    """The last day of a notice of `months` months deemed received on `deemed_received_on`:
    the same day of the month `months` later (CPC 641), moved to the next *jour ouvrable* when
    it is a Saturday, a Sunday or a holiday of the territory (CPC 642)."""
    day = add_months_to_date(deemed_received_on, months)
    while day.weekday() in (_SATURDAY, _SUNDAY) or is_holiday(day, territory):
        day += timedelta(days=1)
    return day


def notice_period_end(
    deemed_received_on: date, months: int, territories: Iterable[Territory]
) -> datetime:
    """The (exclusive) end of a notice period: 24:00 of `notice_last_day` in the territory's
    legal time. Over several candidate territories (the person's is not known) the latest end
    is taken: a later end only gives the person more time."""
    return max(
        validity_end(notice_last_day(deemed_received_on, months, territory), territory)
        for territory in _non_empty(territories)
    )


def _non_empty(territories: Iterable[Territory]) -> tuple[Territory, ...]:
    zones = tuple(dict.fromkeys(territories))
    if not zones:
        raise ValueError("at least one territory is needed")
    return zones
