"""CPC 748-7 with 642: a deadline whose last day the outage touched moves to the next day that
is no Saturday, Sunday or holiday of the territory, counted in the territory's legal time and
on its own statutory holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from retention.status.deadline import moved_deadline, moved_deadlines, next_day_to_act
from shared.legal_calendar import Territory

T = Territory


def local(day: date, at: time, territory: Territory) -> datetime:
    return datetime.combine(day, at, tzinfo=territory.time_zone)


# (territory, the outage's day, where a deadline of that day moves, where it moves in the
# metropole for the same local day: the territory's own holiday makes the difference).
ACROSS_A_LOCAL_HOLIDAY = [
    # Thursday before Good Friday (Alsace-Moselle only), then the weekend and Easter Monday.
    (T.ALSACE_MOSELLE, date(2027, 3, 25), date(2027, 3, 30), date(2027, 3, 26)),
    # Wednesday before 27 May (abolition of slavery, Guadeloupe).
    (T.GUADELOUPE, date(2027, 5, 26), date(2027, 5, 28), date(2027, 5, 27)),
    # Thursday before Friday 22 May 2026 (Martinique), a weekend, then Whit Monday.
    (T.MARTINIQUE, date(2026, 5, 21), date(2026, 5, 26), date(2026, 5, 22)),
    # Wednesday before 10 June (Guyane).
    (T.GUYANE, date(2027, 6, 9), date(2027, 6, 11), date(2027, 6, 10)),
    # Friday before Monday 20 December (La Réunion): the weekend, then the holiday.
    (T.REUNION, date(2027, 12, 17), date(2027, 12, 21), date(2027, 12, 20)),
    # Monday before 27 April (Mayotte).
    (T.MAYOTTE, date(2027, 4, 26), date(2027, 4, 28), date(2027, 4, 27)),
    # Thursday before Friday 28 May (Saint-Martin), then the weekend.
    (T.SAINT_MARTIN, date(2027, 5, 27), date(2027, 5, 31), date(2027, 5, 28)),
    # Thursday before Friday 9 October 2026 (Saint-Barthélemy), then the weekend.
    (T.SAINT_BARTHELEMY, date(2026, 10, 8), date(2026, 10, 12), date(2026, 10, 9)),
]


@pytest.mark.parametrize(("territory", "day", "moved", "in_metropole"), ACROSS_A_LOCAL_HOLIDAY)
def test_cpc_748_7_skips_the_territorys_own_holiday_and_the_weekend(
    territory: Territory, day: date, moved: date, in_metropole: date
) -> None:
    start, end = local(day, time(17, 0), territory), local(day, time(19, 30), territory)
    result = moved_deadline(start, end, territory)
    assert (result.first_day, result.last_day, result.moved_to) == (day, day, moved)
    # The same local hours in Paris, on the national holidays only.
    paris = (local(day, time(17, 0), T.METROPOLE), local(day, time(19, 30), T.METROPOLE))
    assert moved_deadline(*paris, T.METROPOLE).moved_to == in_metropole


@pytest.mark.parametrize("territory", list(Territory))
def test_cpc_748_7_friday_evening_outage_before_whit_monday_moves_to_tuesday(
    territory: Territory,
) -> None:
    # Friday 14 May 2027, 18:00 to 20:00 local: Saturday (642), Sunday, Whit Monday 17 May
    # (national) are passed over in every territory.
    friday = date(2027, 5, 14)
    result = moved_deadline(
        local(friday, time(18, 0), territory), local(friday, time(20, 0), territory), territory
    )
    assert result.moved_to == date(2027, 5, 18)


def test_cpc_748_7_an_ordinary_weekday_moves_to_the_next_day() -> None:
    tuesday = date(2027, 6, 15)
    result = moved_deadline(
        local(tuesday, time(10, 0), T.METROPOLE),
        local(tuesday, time(11, 0), T.METROPOLE),
        T.METROPOLE,
    )
    assert result.moved_to == date(2027, 6, 16)


def test_cpc_748_7_a_saturday_counts_as_no_day_to_act_642() -> None:
    # Thursday's outage: Friday is the next jour ouvrable; Friday's: Saturday is one for
    # 748-7, but 642 moves a deadline ending on a Saturday to Monday.
    assert next_day_to_act(date(2027, 6, 17), T.METROPOLE) == date(2027, 6, 18)
    assert next_day_to_act(date(2027, 6, 18), T.METROPOLE) == date(2027, 6, 21)


def test_cpc_748_7_days_are_the_legal_days_of_each_territory() -> None:
    # Wednesday 26 May 2027 from 22:00 to 23:30 UTC: Thursday 27 already in Paris and La
    # Réunion (deadlines of Thursday move to Friday), still Wednesday in Guadeloupe (whose
    # Thursday 27 is a holiday: Friday too).
    start = datetime(2027, 5, 26, 22, 0, tzinfo=UTC)
    end = datetime(2027, 5, 26, 23, 30, tzinfo=UTC)
    by_territory = {m.territory: m for m in moved_deadlines(start, end)}
    assert by_territory[T.METROPOLE].last_day == date(2027, 5, 27)
    assert by_territory[T.METROPOLE].moved_to == date(2027, 5, 28)
    assert by_territory[T.REUNION].last_day == date(2027, 5, 27)
    assert by_territory[T.GUADELOUPE].last_day == date(2027, 5, 26)
    assert by_territory[T.GUADELOUPE].moved_to == date(2027, 5, 28)
    assert by_territory[T.GUYANE].moved_to == date(2027, 5, 27)


def test_cpc_748_7_an_outage_over_several_days_covers_each_of_them() -> None:
    start = local(date(2027, 6, 14), time(23, 0), T.METROPOLE)  # Monday
    end = local(date(2027, 6, 16), time(1, 0), T.METROPOLE)  # Wednesday
    result = moved_deadline(start, end, T.METROPOLE)
    assert (result.first_day, result.last_day, result.moved_to) == (
        date(2027, 6, 14),
        date(2027, 6, 16),
        date(2027, 6, 17),
    )


def test_cpc_748_7_refuses_an_outage_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends after"):
        moved_deadline(
            datetime(2027, 6, 15, 12, tzinfo=UTC),
            datetime(2027, 6, 15, 11, tzinfo=UTC),
            T.METROPOLE,
        )


def test_cpc_748_7_an_outage_ending_at_midnight_does_not_touch_the_next_day() -> None:
    start = local(date(2027, 6, 15), time(22, 0), T.METROPOLE)  # Tuesday
    end = local(date(2027, 6, 16), time(0, 0), T.METROPOLE)
    result = moved_deadline(start, end, T.METROPOLE)
    assert (result.last_day, result.moved_to) == (date(2027, 6, 15), date(2027, 6, 16))
