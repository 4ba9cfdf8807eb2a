"""Dates and times written the French way, in a territory's legal time (e-mails, portal pages,
certificates): `lundi 4 mars 2031 à 9 h 05 (heure de Paris)`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from shared.legal_calendar.territories import Territory

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


# How each territory's legal time (décret 2017-292) is named in a sentence, in full (e-mails,
# portal) and briefly (SMS). Metropole and Alsace-Moselle share Paris's legal time.
_LEGAL_TIME_NAMES: Final[dict[Territory, tuple[str, str]]] = {
    Territory.METROPOLE: ("heure légale de Paris", "heure de Paris"),
    Territory.ALSACE_MOSELLE: ("heure légale de Paris", "heure de Paris"),
    Territory.GUADELOUPE: ("heure légale de la Guadeloupe", "heure de Guadeloupe"),
    Territory.MARTINIQUE: ("heure légale de la Martinique", "heure de Martinique"),
    Territory.GUYANE: ("heure légale de la Guyane", "heure de Guyane"),
    Territory.REUNION: ("heure légale de La Réunion", "heure de La Réunion"),
    Territory.MAYOTTE: ("heure légale de Mayotte", "heure de Mayotte"),
    Territory.SAINT_MARTIN: ("heure légale de Saint-Martin", "heure de Saint-Martin"),
    Territory.SAINT_BARTHELEMY: ("heure légale de Saint-Barthélemy", "heure de Saint-Barthélemy"),
}


def legal_time_name(territory: Territory, *, brief: bool = False) -> str:
    """`heure légale de la Guadeloupe` (brief: `heure de Guadeloupe`)."""
    full, short = _LEGAL_TIME_NAMES[territory]
    return short if brief else full


def legal_datetime(
    value: datetime | str, territory: Territory, *, weekday: bool = True, brief: bool = False
) -> str:
    """An instant as a person of `territory` reads it, its legal time named: `mercredi 10 mars
    2027 à 20 h 30 (heure légale de la Guadeloupe)`; brief (an SMS): `10 mars 2027 à 20 h 30
    (heure de Guadeloupe)`. The one way notices and the portal write the date and hour of an
    act (CPC 748-3: the notice states them and stands for the visa)."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        raise ValueError("an instant needs its offset to be shown in a legal time")
    local = instant.astimezone(territory.time_zone)
    when = french_date(local.date(), weekday=weekday and not brief)
    name = legal_time_name(territory, brief=brief)
    return f"{when} à {local.hour} h {local.minute:02d} ({name})"
