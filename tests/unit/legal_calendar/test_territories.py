from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.legal_calendar import (
    Territory,
    UnsupportedTerritoryError,
    territory_for_department,
    territory_for_postcode,
)


@pytest.mark.parametrize(
    ("postcode", "territory"),
    [
        ("75001", Territory.METROPOLE),
        ("01000", Territory.METROPOLE),
        ("20000", Territory.METROPOLE),
        ("57000", Territory.ALSACE_MOSELLE),
        ("67000", Territory.ALSACE_MOSELLE),
        ("68100", Territory.ALSACE_MOSELLE),
        ("97100", Territory.GUADELOUPE),
        ("97133", Territory.SAINT_BARTHELEMY),
        ("97150", Territory.SAINT_MARTIN),
        ("97200", Territory.MARTINIQUE),
        ("97300", Territory.GUYANE),
        ("97400", Territory.REUNION),
        ("97600", Territory.MAYOTTE),
        (" 97 400 ", Territory.REUNION),
    ],
)
def test_postcode_maps_to_its_territory(postcode: str, territory: Territory) -> None:
    assert territory_for_postcode(postcode) is territory


@pytest.mark.parametrize("postcode", ["97500", "98000", "98800", "00100", "7500", "7500A", ""])
def test_postcode_outside_the_platform_is_refused(postcode: str) -> None:
    with pytest.raises(UnsupportedTerritoryError):
        territory_for_postcode(postcode)


@pytest.mark.parametrize(
    ("department", "territory"),
    [
        ("75", Territory.METROPOLE),
        ("2A", Territory.METROPOLE),
        ("2b", Territory.METROPOLE),
        ("20", Territory.METROPOLE),  # Corsica before 1976, still written on old records
        ("57", Territory.ALSACE_MOSELLE),
        ("67", Territory.ALSACE_MOSELLE),
        ("68", Territory.ALSACE_MOSELLE),
        ("971", Territory.GUADELOUPE),
        ("974", Territory.REUNION),
        ("976", Territory.MAYOTTE),
        ("977", Territory.SAINT_BARTHELEMY),
        ("978", Territory.SAINT_MARTIN),
    ],
)
def test_department_maps_to_its_territory(department: str, territory: Territory) -> None:
    assert territory_for_department(department) is territory


@pytest.mark.parametrize("department", ["00", "96", "975", "98", "9", "ABC"])
def test_unknown_department_is_refused(department: str) -> None:
    with pytest.raises(UnsupportedTerritoryError):
        territory_for_department(department)


@pytest.mark.parametrize(
    ("territory", "summer_offset_hours"),
    [
        (Territory.METROPOLE, 2),
        (Territory.ALSACE_MOSELLE, 2),
        (Territory.GUADELOUPE, -4),
        (Territory.MARTINIQUE, -4),
        (Territory.GUYANE, -3),
        (Territory.REUNION, 4),
        (Territory.MAYOTTE, 3),
        (Territory.SAINT_MARTIN, -4),
        (Territory.SAINT_BARTHELEMY, -4),
    ],
)
def test_each_territory_has_its_legal_time(territory: Territory, summer_offset_hours: int) -> None:
    july = datetime(2025, 7, 1, 12, 0, tzinfo=UTC).astimezone(territory.time_zone)
    assert july.utcoffset() == timedelta(hours=summer_offset_hours)
