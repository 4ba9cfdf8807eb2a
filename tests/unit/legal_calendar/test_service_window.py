from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.legal_calendar import (
    ClosureReason,
    ServiceZones,
    Territory,
    governing_territories,
    is_service_allowed,
    next_window_opening,
    window_closures,
)

PARIS = ZoneInfo("Europe/Paris")
METROPOLE = [Territory.METROPOLE]
MOSELLE = [Territory.ALSACE_MOSELLE]
REUNION = [Territory.REUNION]


def paris(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "allowed"),
    [
        (paris(2025, 3, 3, 5, 59, 59), False),
        (paris(2025, 3, 3, 6, 0, 0), True),
        (paris(2025, 3, 3, 20, 59, 59), True),
        (paris(2025, 3, 3, 21, 0, 0), False),
        (paris(2025, 3, 3, 21, 0, 1), False),
        (paris(2025, 3, 3, 0, 0, 0), False),
        (paris(2025, 3, 8, 12, 0, 0), True),  # Saturday is a working day for service
        (paris(2025, 3, 2, 12, 0, 0), False),  # Sunday
    ],
)
def test_window_edges_in_paris(local: datetime, allowed: bool) -> None:
    assert is_service_allowed(local, METROPOLE) is allowed


def test_closure_reasons_name_the_rule_that_closed_the_window() -> None:
    assert window_closures(paris(2025, 3, 3, 5, 59, 59), METROPOLE)[0].reason is (
        ClosureReason.BEFORE_6
    )
    assert window_closures(paris(2025, 3, 3, 21, 0), METROPOLE)[0].reason is ClosureReason.FROM_21
    assert window_closures(paris(2025, 3, 2, 12, 0), METROPOLE)[0].reason is ClosureReason.SUNDAY
    assert window_closures(paris(2025, 6, 9, 12, 0), METROPOLE)[0].reason is ClosureReason.HOLIDAY


@pytest.mark.parametrize("territory", list(Territory))
def test_whit_monday_is_closed_everywhere(territory: Territory) -> None:
    noon = datetime(2025, 6, 9, 12, 0, tzinfo=territory.time_zone)
    assert not is_service_allowed(noon, [territory])


def test_whit_monday_stays_closed_in_the_years_it_was_worked() -> None:
    assert not is_service_allowed(paris(2006, 6, 5, 12, 0), METROPOLE)


def test_good_friday_is_closed_in_moselle_but_not_in_paris() -> None:
    assert not is_service_allowed(paris(2025, 4, 18, 12, 0), MOSELLE)
    assert is_service_allowed(paris(2025, 4, 18, 12, 0), METROPOLE)


def test_26_december_is_closed_in_alsace_moselle_but_not_in_paris() -> None:
    assert not is_service_allowed(paris(2025, 12, 26, 12, 0), MOSELLE)
    assert is_service_allowed(paris(2025, 12, 26, 12, 0), METROPOLE)


def test_20_december_is_closed_in_la_reunion_only() -> None:
    noon_reunion = datetime(2025, 12, 20, 12, 0, tzinfo=ZoneInfo("Indian/Reunion"))
    assert not is_service_allowed(noon_reunion, REUNION)
    assert is_service_allowed(noon_reunion, METROPOLE)


@pytest.mark.parametrize(
    ("territory", "day"),
    [
        (Territory.MAYOTTE, date(2026, 4, 27)),  # 27 April 2025 was a Sunday
        (Territory.MARTINIQUE, date(2025, 5, 22)),
        (Territory.GUADELOUPE, date(2025, 5, 27)),
        (Territory.GUYANE, date(2025, 6, 10)),
        (Territory.SAINT_BARTHELEMY, date(2025, 10, 9)),
    ],
)
def test_abolition_days_close_their_territory(territory: Territory, day: date) -> None:
    noon = datetime.combine(day, time(12, 0), tzinfo=territory.time_zone)
    assert not is_service_allowed(noon, [territory])
    assert is_service_allowed(noon, METROPOLE)


def test_saint_martin_closes_on_28_may_not_on_guadeloupes_27() -> None:
    # Décret 83-1003 as amended by décret 2012-553 (which added Saint-Barthélemy and
    # Saint-Martin): "Saint-Martin : le 28 mai". ../shared/LEGAL.md lists Saint-Martin with
    # Guadeloupe on 27 May; the decree's text is followed here.
    for day, closed in ((date(2025, 5, 27), False), (date(2025, 5, 28), True)):
        noon = datetime.combine(day, time(12, 0), tzinfo=Territory.SAINT_MARTIN.time_zone)
        assert is_service_allowed(noon, [Territory.SAINT_MARTIN]) is not closed
        assert is_service_allowed(noon, [Territory.GUADELOUPE]) is closed


def test_spring_dst_night_opens_at_six_local_summer_time() -> None:
    # Saturday 29 March 2025, 21:00 CET; Sunday 30 March is the switch; Monday opens 06:00 CEST.
    assert next_window_opening(paris(2025, 3, 29, 21, 0), METROPOLE) == utc(2025, 3, 31, 4, 0)
    assert not is_service_allowed(utc(2025, 3, 29, 4, 30), METROPOLE)  # 05:30 CET
    assert is_service_allowed(utc(2025, 3, 31, 4, 30), METROPOLE)  # 06:30 CEST


def test_autumn_dst_night_opens_at_six_local_winter_time() -> None:
    # Saturday 25 October 2025, 21:00 CEST; Sunday 26 is the switch; Monday opens 06:00 CET.
    assert next_window_opening(paris(2025, 10, 25, 21, 0), METROPOLE) == utc(2025, 10, 27, 5, 0)
    assert is_service_allowed(utc(2025, 10, 25, 4, 30), METROPOLE)  # 06:30 CEST
    assert not is_service_allowed(utc(2025, 10, 27, 4, 30), METROPOLE)  # 05:30 CET


def test_new_years_eve_after_21_opens_on_2_january() -> None:
    assert is_service_allowed(paris(2025, 12, 31, 20, 59), METROPOLE)
    assert next_window_opening(paris(2025, 12, 31, 21, 0), METROPOLE) == paris(2026, 1, 2, 6, 0)


def test_new_years_eve_opens_on_3_january_when_2_january_is_a_sunday() -> None:
    assert next_window_opening(paris(2027, 12, 31, 21, 0), METROPOLE) == paris(2028, 1, 3, 6, 0)


def test_open_instant_is_its_own_next_opening() -> None:
    instant = paris(2025, 3, 3, 10, 15, 30)
    assert next_window_opening(instant, METROPOLE) == instant
    assert next_window_opening(instant, METROPOLE).tzinfo is UTC


def test_before_six_opens_the_same_morning() -> None:
    assert next_window_opening(paris(2025, 3, 3, 5, 59, 59), METROPOLE) == paris(2025, 3, 3, 6, 0)


def test_holiday_in_one_of_the_territories_closes_the_window_for_both() -> None:
    good_friday = paris(2025, 4, 18, 12, 0)
    both = [Territory.METROPOLE, Territory.ALSACE_MOSELLE]
    assert not is_service_allowed(good_friday, both)
    assert next_window_opening(paris(2025, 4, 17, 21, 0), both) == paris(2025, 4, 19, 6, 0)


def test_recipient_and_office_in_distant_time_zones_meet_in_the_common_window() -> None:
    both = [Territory.METROPOLE, Territory.REUNION]
    # 18:30 in Paris but 21:30 in La Réunion: closed; opens when Paris reaches 06:00.
    assert not is_service_allowed(utc(2025, 3, 4, 17, 30), both)
    assert next_window_opening(utc(2025, 3, 4, 17, 30), both) == utc(2025, 3, 5, 5, 0)
    guyane_reunion = [Territory.GUYANE, Territory.REUNION]
    # Sunday: Monday 06:00 in Cayenne is 13:00 in Saint-Denis.
    assert next_window_opening(utc(2025, 3, 2, 12, 0), guyane_reunion) == utc(2025, 3, 3, 9, 0)


def test_overseas_window_uses_local_date_when_utc_date_differs() -> None:
    # Monday 3 March 2025 23:30 UTC is Tuesday 03:30 in La Réunion (closed, before 06:00)
    # and Monday 20:30 in Guyane (open).
    instant = utc(2025, 3, 3, 23, 30)
    assert not is_service_allowed(instant, REUNION)
    assert is_service_allowed(instant, [Territory.GUYANE])
    # Saturday 8 March 23:30 UTC is Sunday 9 March 03:30 in La Réunion: next opening Monday.
    assert next_window_opening(utc(2025, 3, 8, 23, 30), REUNION) == utc(2025, 3, 10, 2, 0)
    # Sunday 2 March 2025 02:30 UTC is still Saturday 22:30 in Guadeloupe: closed after 21:00.
    assert window_closures(utc(2025, 3, 2, 2, 30), [Territory.GUADELOUPE])[0].reason is (
        ClosureReason.FROM_21
    )


def test_governing_territories_default_to_both_recipient_and_office() -> None:
    assert governing_territories(Territory.REUNION, Territory.METROPOLE) == {
        Territory.REUNION,
        Territory.METROPOLE,
    }
    assert governing_territories(
        Territory.REUNION, Territory.METROPOLE, ServiceZones.RECIPIENT
    ) == {Territory.REUNION}


def test_naive_instants_and_empty_territories_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_service_allowed(datetime(2025, 3, 3, 12, 0), METROPOLE)  # noqa: DTZ001
    with pytest.raises(ValueError, match="territory"):
        next_window_opening(paris(2025, 3, 3, 12, 0), [])


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2030, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    territories=st.sets(st.sampled_from(list(Territory)), min_size=1, max_size=3),
)
def test_next_opening_is_open_and_starts_exactly_there(
    instant: datetime, territories: set[Territory]
) -> None:
    opening = next_window_opening(instant, territories)
    assert opening >= instant
    assert is_service_allowed(opening, territories)
    if opening != instant:
        assert not is_service_allowed(opening - timedelta(microseconds=1), territories)
        assert not is_service_allowed(instant, territories)
