from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.legal_calendar import (
    BusinessDays,
    Territory,
    add_jours_ouvrables,
    end_of_legal_day,
    first_business_day_after_presentation,
    first_jour_ouvrable_after,
    first_statutory_jour_ouvrable_after,
    is_holiday,
    is_jour_ouvrable,
    is_statutory_holiday,
    legal_date,
    same_legal_day,
    validity_end,
)

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")


@pytest.mark.parametrize(
    ("day", "territory", "expected"),
    [
        (date(2025, 3, 7), Territory.METROPOLE, date(2025, 3, 8)),  # Friday -> Saturday
        (date(2025, 3, 8), Territory.METROPOLE, date(2025, 3, 10)),  # Saturday -> Monday
        (date(2025, 4, 17), Territory.METROPOLE, date(2025, 4, 18)),  # Good Friday worked
        (date(2025, 4, 17), Territory.ALSACE_MOSELLE, date(2025, 4, 19)),
        (date(2025, 12, 24), Territory.METROPOLE, date(2025, 12, 26)),
        (date(2025, 12, 24), Territory.ALSACE_MOSELLE, date(2025, 12, 27)),
        (date(2025, 6, 7), Territory.METROPOLE, date(2025, 6, 10)),  # over Sunday + Whit Monday
        (date(2025, 12, 19), Territory.REUNION, date(2025, 12, 22)),  # 20 Dec, then Sunday
    ],
)
def test_first_jour_ouvrable_after(day: date, territory: Territory, expected: date) -> None:
    assert first_jour_ouvrable_after(day, territory) == expected


def test_jour_ouvrable_is_monday_to_saturday_minus_holidays() -> None:
    assert is_jour_ouvrable(date(2025, 3, 8), Territory.METROPOLE)
    assert not is_jour_ouvrable(date(2025, 3, 9), Territory.METROPOLE)
    assert not is_jour_ouvrable(date(2025, 5, 1), Territory.METROPOLE)


def test_adding_jours_ouvrables_skips_sundays_and_holidays() -> None:
    assert add_jours_ouvrables(date(2025, 4, 30), 0, Territory.METROPOLE) == date(2025, 4, 30)
    # Thu 1 May and Thu 8 May are holidays; Sundays 4 and 11 May are skipped.
    assert add_jours_ouvrables(date(2025, 4, 30), 8, Territory.METROPOLE) == date(2025, 5, 12)
    with pytest.raises(ValueError, match=">= 0"):
        add_jours_ouvrables(date(2025, 4, 30), -1, Territory.METROPOLE)


def test_download_at_235959_is_the_sending_day_and_000001_is_not() -> None:
    sent = datetime(2025, 3, 4, 10, 0, tzinfo=PARIS)
    last_second = datetime(2025, 3, 4, 23, 59, 59, tzinfo=PARIS)
    next_day = datetime(2025, 3, 5, 0, 0, 1, tzinfo=PARIS)
    end = end_of_legal_day(sent, Territory.METROPOLE)

    assert end == datetime(2025, 3, 4, 23, 0, tzinfo=UTC)
    assert last_second < end <= next_day
    assert same_legal_day(sent, last_second, Territory.METROPOLE)
    assert not same_legal_day(sent, next_day, Territory.METROPOLE)


def test_download_late_in_the_evening_is_still_the_same_day() -> None:
    sent = datetime(2025, 3, 4, 20, 30, tzinfo=PARIS)
    assert same_legal_day(sent, datetime(2025, 3, 4, 22, 30, tzinfo=PARIS), Territory.METROPOLE)


def test_end_of_legal_day_on_a_dst_switch_day_is_local_midnight() -> None:
    sent = datetime(2025, 3, 29, 12, 0, tzinfo=PARIS)  # the night after is 23 hours long
    assert end_of_legal_day(sent, Territory.METROPOLE) == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    sent = datetime(2025, 10, 25, 12, 0, tzinfo=PARIS)
    assert end_of_legal_day(sent, Territory.METROPOLE) == datetime(2025, 10, 25, 22, 0, tzinfo=UTC)


def test_overseas_legal_date_differs_from_the_utc_date() -> None:
    instant = datetime(2025, 3, 4, 21, 30, tzinfo=UTC)  # 5 March 01:30 in La Réunion
    assert legal_date(instant, Territory.REUNION) == date(2025, 3, 5)
    assert legal_date(instant, Territory.METROPOLE) == date(2025, 3, 4)
    assert end_of_legal_day(instant, Territory.REUNION) == datetime(2025, 3, 5, 20, 0, tzinfo=UTC)
    # 5 March 01:30 UTC is 4 March 21:30 in Guyane: the same local day as a 10:00 sending there.
    sent = datetime(2025, 3, 4, 13, 0, tzinfo=UTC)
    assert same_legal_day(sent, datetime(2025, 3, 5, 1, 30, tzinfo=UTC), Territory.GUYANE)
    assert not same_legal_day(sent, datetime(2025, 3, 5, 1, 30, tzinfo=UTC), Territory.METROPOLE)


@pytest.mark.parametrize(
    ("presented", "policy", "expected"),
    [
        (datetime(2025, 3, 7, 15, 0, tzinfo=PARIS), BusinessDays.JOURS_OUVRES, date(2025, 3, 10)),
        (
            datetime(2025, 3, 7, 15, 0, tzinfo=PARIS),
            BusinessDays.JOURS_OUVRABLES,
            date(2025, 3, 8),
        ),
        (datetime(2025, 6, 6, 9, 0, tzinfo=PARIS), BusinessDays.JOURS_OUVRES, date(2025, 6, 10)),
        (datetime(2025, 3, 3, 23, 59, tzinfo=PARIS), BusinessDays.JOURS_OUVRES, date(2025, 3, 4)),
    ],
)
def test_notice_is_deemed_received_on_the_first_business_day_after_presentation(
    presented: datetime, policy: BusinessDays, expected: date
) -> None:
    assert first_business_day_after_presentation(presented, Territory.METROPOLE, policy) == expected


def test_default_business_day_is_the_conservative_jour_ouvre() -> None:
    friday = datetime(2025, 3, 7, 15, 0, tzinfo=PARIS)
    assert first_business_day_after_presentation(friday, Territory.METROPOLE) == date(2025, 3, 10)


def test_presentation_is_dated_in_the_recipients_legal_time() -> None:
    # Friday 7 March 21:30 UTC is already Saturday 8 March in La Réunion.
    presented = datetime(2025, 3, 7, 21, 30, tzinfo=UTC)
    assert first_business_day_after_presentation(presented, Territory.REUNION) == date(2025, 3, 10)
    assert first_business_day_after_presentation(
        presented, Territory.REUNION, BusinessDays.JOURS_OUVRABLES
    ) == date(2025, 3, 10)
    assert first_business_day_after_presentation(
        presented, Territory.METROPOLE, BusinessDays.JOURS_OUVRABLES
    ) == date(2025, 3, 8)
    assert datetime(2025, 3, 8, 1, 30, tzinfo=REUNION) == presented


@pytest.mark.parametrize("territory", list(Territory))
def test_a_validity_ends_at_the_local_midnight_after_its_last_day(territory: Territory) -> None:
    last_day = date(2031, 6, 30)
    end = validity_end(last_day, territory)
    assert legal_date(end - timedelta(microseconds=1), territory) == last_day
    assert legal_date(end, territory) == last_day + timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "territory", "expected"),
    [
        # L3133-1 everywhere; L3134-13: Good Friday and 26 December in Alsace-Moselle.
        (date(2031, 4, 10), Territory.ALSACE_MOSELLE, date(2031, 4, 12)),
        (date(2031, 4, 10), Territory.METROPOLE, date(2031, 4, 11)),
        # L3422-2: abolition of slavery (Guadeloupe 27 May; Martinique 22 May, with Ascension).
        (date(2031, 5, 26), Territory.GUADELOUPE, date(2031, 5, 28)),
        (date(2031, 5, 21), Territory.MARTINIQUE, date(2031, 5, 23)),
        # Customary days do not count: Mi-Carême, Good Friday in the Antilles, 21 July.
        (date(2031, 3, 19), Territory.GUADELOUPE, date(2031, 3, 20)),
        (date(2031, 4, 10), Territory.GUADELOUPE, date(2031, 4, 11)),
        (date(2031, 7, 19), Territory.MARTINIQUE, date(2031, 7, 21)),
    ],
)
def test_first_statutory_jour_ouvrable_after_skips_statutory_holidays_only(
    day: date, territory: Territory, expected: date
) -> None:
    assert first_statutory_jour_ouvrable_after(day, territory) == expected


def test_customary_days_close_the_window_but_are_not_statutory() -> None:
    mi_careme = date(2031, 3, 20)
    assert is_holiday(mi_careme, Territory.GUADELOUPE)
    assert not is_statutory_holiday(mi_careme, Territory.GUADELOUPE)
    assert is_statutory_holiday(date(2031, 5, 27), Territory.GUADELOUPE)
    assert not is_statutory_holiday(date(2031, 5, 27), Territory.METROPOLE)
