"""Where a deadline falling in an outage moves (CPC 748-7 with 642), per territory.

748-7: an act that cannot be sent electronically on the last day of a deadline « pour une cause
étrangère » may be sent until the first *jour ouvrable* that follows. 642: a deadline that
would end on a Saturday, a Sunday or a holiday runs to the next *jour ouvrable*. Together, a
deadline whose last day is any legal day the outage touched (from the day it began to the day
it ended, in the territory's legal time: a day the outage ended on is touched too) moves to the
first day after the outage's last day that is neither a Saturday, a Sunday nor a holiday of the
territory.

Holidays are the statutory ones (L3133-1, L3134-13 in Alsace-Moselle, L3422-2 overseas):
customary days would move the date later, and a party who relies on a later day than the court
accepts loses the act; an earlier day is never wrong to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from shared.french import french_datetime
from shared.legal_calendar import Territory, is_statutory_holiday, legal_date

_SATURDAY: Final = 5
_SUNDAY: Final = 6
UTC_ZONE: Final = ZoneInfo("UTC")
_INSTANT: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class MovedDeadline:
    """For one territory: deadlines ending from `first_day` to `last_day` (legal dates, both
    included) may be met until the end of `moved_to`."""

    territory: Territory
    first_day: date
    last_day: date
    moved_to: date


def next_day_to_act(day: date, territory: Territory) -> date:
    """The first day after `day` that is no Saturday, Sunday or statutory holiday (748-7: the
    next *jour ouvrable*; 642: not a Saturday, a Sunday or a holiday)."""
    day += timedelta(days=1)
    while day.weekday() in (_SATURDAY, _SUNDAY) or is_statutory_holiday(day, territory):
        day += timedelta(days=1)
    return day


def moved_deadline(started_at: datetime, ended_at: datetime, territory: Territory) -> MovedDeadline:
    """CPC 748-7 with 642 for an outage from `started_at` to `ended_at` in `territory`."""
    if ended_at < started_at:
        raise ValueError("an outage ends after it starts")
    first = legal_date(started_at, territory)
    # The end is the first instant the service answered again: an outage ending at midnight
    # did not touch the day that begins then.
    last = legal_date(max(started_at, ended_at - _INSTANT), territory)
    return MovedDeadline(territory, first, last, next_day_to_act(last, territory))


def utc_french(value: datetime | str) -> str:
    """`vendredi 14 mai 2027 à 16 h 00 (UTC)`."""
    return f"{french_datetime(value, zone=UTC_ZONE, weekday=True)} (UTC)"


def moved_deadlines(
    started_at: datetime, ended_at: datetime, territories: tuple[Territory, ...] = tuple(Territory)
) -> list[MovedDeadline]:
    return [moved_deadline(started_at, ended_at, t) for t in territories]
