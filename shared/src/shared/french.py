"""Dates and times written the French way, in a territory's legal time (e-mails, portal pages,
certificates): `lundi 4 mars 2031 à 9 h 05 (heure de Paris)`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

PARIS: Final = ZoneInfo("Europe/Paris")
MONTHS: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
WEEKDAYS: Final = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def _day(value: date | datetime | str, zone: ZoneInfo) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(zone).date() if isinstance(value, datetime) else value


def french_date(
    value: date | datetime | str, *, zone: ZoneInfo = PARIS, weekday: bool = False
) -> str:
    """`4 mars 2031`, or `mardi 4 mars 2031`; an instant is dated in `zone`'s legal time."""
    day = _day(value, zone)
    first = "1er" if day.day == 1 else str(day.day)
    text = f"{first} {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def french_datetime(value: datetime | str, *, zone: ZoneInfo = PARIS, weekday: bool = False) -> str:
    """`4 mars 2031 à 9 h 05 (heure de Paris)`; the zone is named for Paris only."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = instant.astimezone(zone)
    suffix = " (heure de Paris)" if zone == PARIS else ""
    when = french_date(local, zone=zone, weekday=weekday)
    return f"{when} à {local.hour} h {local.minute:02d}{suffix}"
