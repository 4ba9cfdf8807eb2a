"""Date arithmetic of retention's clocks: calendar months in legal time, end-of-month clamp."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from retention.domain import (
    account_erasure_due,
    add_months,
    add_months_to_date,
    registry_purge_due,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2030, 12, 31), 2, date(2031, 2, 28)),  # clamp to 28 Feb
        (date(2031, 12, 31), 2, date(2032, 2, 29)),  # leap year: 29 Feb
        (date(2031, 12, 30), 2, date(2032, 2, 29)),
        (date(2031, 3, 31), 2, date(2031, 5, 31)),  # the day exists: kept
        (date(2031, 8, 31), 2, date(2031, 10, 31)),
        (date(2031, 7, 31), 2, date(2031, 9, 30)),  # 30-day month
        (date(2031, 11, 15), 2, date(2032, 1, 15)),  # across the year
        (date(2028, 2, 29), 60, date(2033, 2, 28)),  # five years from 29 Feb
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
    ],
)
def test_calendar_months_clamp_to_the_last_day_of_the_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months_to_date(start, months) == expected


def test_erasure_is_due_at_24_00_of_the_last_day_of_the_two_months_in_paris() -> None:
    terminated = datetime(2031, 1, 10, 14, 0, tzinfo=UTC)  # 10 January, 15:00 in Paris
    due = account_erasure_due(terminated, 2, PARIS)
    # Readable until 10 March at 24:00 (Paris), not 10 March at 15:00.
    assert due == datetime(2031, 3, 11, 0, 0, tzinfo=PARIS)
    assert due == datetime(2031, 3, 10, 23, 0, tzinfo=UTC)


def test_the_erasure_after_31_december_falls_at_the_end_of_28_february() -> None:
    terminated = datetime(2030, 12, 31, 9, 0, tzinfo=UTC)
    assert account_erasure_due(terminated, 2, PARIS) == datetime(2031, 3, 1, 0, 0, tzinfo=PARIS)


def test_months_are_counted_in_legal_time_not_utc() -> None:
    # 00:30 on 1 March in Paris is still 28 February in UTC: Paris's date decides.
    terminated = datetime(2031, 2, 28, 23, 30, tzinfo=UTC)
    due = account_erasure_due(terminated, 2, PARIS)
    assert due == datetime(2031, 5, 2, 0, 0, tzinfo=PARIS)


def test_summer_time_ends_the_period_at_local_midnight() -> None:
    terminated = datetime(2031, 2, 10, 14, 0, tzinfo=UTC)  # 15:00 CET
    due = account_erasure_due(terminated, 2, PARIS)  # end of 10 April, CEST
    assert due == datetime(2031, 4, 10, 22, 0, tzinfo=UTC)


def test_a_wall_time_in_the_spring_gap_moves_forward_never_back() -> None:
    # 02:30 on 30 March 2031 does not exist in Paris (clocks jump 02:00 → 03:00).
    start = datetime(2031, 1, 30, 1, 30, tzinfo=UTC)  # 02:30 CET
    due = add_months(start, 2, PARIS)
    assert due == datetime(2031, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert due.astimezone(PARIS).hour == 3


def test_registry_purge_is_five_years_after_the_revocation_instant() -> None:
    revoked = datetime(2028, 2, 29, 11, 0, tzinfo=UTC)  # 12:00 in Paris
    due = registry_purge_due(revoked, 5, PARIS)
    assert due == datetime(2033, 2, 28, 11, 0, tzinfo=UTC)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_months(datetime(2031, 1, 1), 2, PARIS)  # noqa: DTZ001 - the refusal under test
