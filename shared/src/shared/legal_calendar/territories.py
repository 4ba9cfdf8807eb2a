"""Territories with their own legal time and holidays (DESIGN R-tz, R-holidays; LEGAL Calendar).

Alsace-Moselle covers the whole of departments 57, 67 and 68 (Good Friday included everywhere:
the conservative reading of LEGAL open question 5, since a closed day can only delay a service).
Holidays come from the `holidays` package (France and its subdivisions), never from hand-coded
dates; time zones are IANA names, never fixed offsets.
"""

from __future__ import annotations

import re
from enum import StrEnum
from zoneinfo import ZoneInfo


class UnsupportedTerritoryError(ValueError):
    """A postcode or department outside the territories where the platform serves acts."""


class Territory(StrEnum):
    METROPOLE = "metropole"
    ALSACE_MOSELLE = "alsace_moselle"
    GUADELOUPE = "guadeloupe"
    MARTINIQUE = "martinique"
    GUYANE = "guyane"
    REUNION = "reunion"
    MAYOTTE = "mayotte"
    SAINT_MARTIN = "saint_martin"
    SAINT_BARTHELEMY = "saint_barthelemy"

    @property
    def time_zone(self) -> ZoneInfo:
        """The territory's legal time (décret 2017-292)."""
        return ZoneInfo(_TIME_ZONES[self])

    @property
    def holiday_subdivision(self) -> str | None:
        """The `holidays` France subdivision code (None: national holidays only)."""
        return _SUBDIVISIONS[self]


_TIME_ZONES: dict[Territory, str] = {
    Territory.METROPOLE: "Europe/Paris",
    Territory.ALSACE_MOSELLE: "Europe/Paris",
    Territory.GUADELOUPE: "America/Guadeloupe",
    Territory.MARTINIQUE: "America/Martinique",
    Territory.GUYANE: "America/Cayenne",
    Territory.REUNION: "Indian/Reunion",
    Territory.MAYOTTE: "Indian/Mayotte",
    Territory.SAINT_MARTIN: "America/Marigot",
    Territory.SAINT_BARTHELEMY: "America/St_Barthelemy",
}

_SUBDIVISIONS: dict[Territory, str | None] = {
    Territory.METROPOLE: None,
    # The package's "57" (Moselle) and "6AE" (Alsace) carry the same local-law holidays.
    Territory.ALSACE_MOSELLE: "57",
    Territory.GUADELOUPE: "971",
    Territory.MARTINIQUE: "972",
    Territory.GUYANE: "973",
    Territory.REUNION: "974",
    Territory.MAYOTTE: "976",
    Territory.SAINT_MARTIN: "MF",
    Territory.SAINT_BARTHELEMY: "BL",
}

_OVERSEAS_DEPARTMENTS: dict[str, Territory] = {
    "971": Territory.GUADELOUPE,
    "972": Territory.MARTINIQUE,
    "973": Territory.GUYANE,
    "974": Territory.REUNION,
    "976": Territory.MAYOTTE,
    "977": Territory.SAINT_BARTHELEMY,
    "978": Territory.SAINT_MARTIN,
}
_ALSACE_MOSELLE = frozenset({"57", "67", "68"})
# Saint-Barthélemy and Saint-Martin kept Guadeloupe's postcode range when they left it.
_POSTCODE_EXCEPTIONS: dict[str, Territory] = {
    "97133": Territory.SAINT_BARTHELEMY,
    "97150": Territory.SAINT_MARTIN,
}
_POSTCODE = re.compile(r"\d{5}")
_DEPARTMENT = re.compile(r"0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-8]")


def territory_for_department(department: str) -> Territory:
    """The territory of a department code ("75", "2A", "57", "974", "977", …)."""
    code = department.strip().upper()
    if not _DEPARTMENT.fullmatch(code) or code == "975":
        raise UnsupportedTerritoryError(f"unsupported department {department!r}")
    if code in _OVERSEAS_DEPARTMENTS:
        return _OVERSEAS_DEPARTMENTS[code]
    if code in _ALSACE_MOSELLE:
        return Territory.ALSACE_MOSELLE
    return Territory.METROPOLE


def territory_for_postcode(postcode: str) -> Territory:
    """The territory of a French postcode ("75001", "57000", "97133", "97400", …).

    Corsica (20xxx) is metropole; Saint-Pierre-et-Miquelon (975xx), Monaco and the Pacific
    (98xxx) are outside the platform and raise `UnsupportedTerritoryError`.
    """
    code = postcode.strip().replace(" ", "")
    if not _POSTCODE.fullmatch(code):
        raise UnsupportedTerritoryError(f"malformed postcode {postcode!r}")
    if code in _POSTCODE_EXCEPTIONS:
        return _POSTCODE_EXCEPTIONS[code]
    if code.startswith("97"):
        return territory_for_department(code[:3])
    if code.startswith("20"):
        return Territory.METROPOLE
    return territory_for_department(code[:2])
