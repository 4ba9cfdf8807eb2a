"""Identity's pure rules: passwords, identifiers, throttle delays, CGU notice arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.domain import (
    PARIS,
    PasswordRejection,
    ThrottleState,
    add_months,
    check_password,
    earliest_terms_effective_at,
    new_identifier,
    normalize_identifier,
)

MAX = timedelta(minutes=15)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("court-11car", PasswordRejection.TOO_SHORT),
        ("x" * 257, PasswordRejection.TOO_LONG),
        ("ABCD-EFGH-JKLM", PasswordRejection.IS_IDENTIFIER),
        ("abcdefghjklm", PasswordRejection.IS_IDENTIFIER),
    ],
)
def test_passwords_breaking_the_fixed_rules_are_refused_with_their_reason(
    password: str, reason: PasswordRejection
) -> None:
    assert check_password(password, "ABCD-EFGH-JKLM") is reason


def test_the_fixed_rules_leave_guessability_to_the_strength_estimate() -> None:
    # Twelve characters, not the identifier: the fixed rules pass it; `Passwords.check` refuses.
    assert check_password("motdepasse12", "ABCD-EFGH-JKLM") is None


def test_identifiers_are_unambiguous_and_compared_without_case_or_dashes() -> None:
    identifier = new_identifier()
    assert len(identifier) == 14
    assert identifier.count("-") == 2
    assert not set(identifier) & set("01IO")
    assert normalize_identifier(f"  {identifier.lower()} ") == identifier.replace("-", "")


def test_throttle_lets_five_failures_through_then_doubles_the_delay_up_to_the_cap() -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    delays = [ThrottleState(n, now).delay(5, MAX) for n in range(4, 18)]
    assert delays[:1] == [timedelta(0)]
    assert delays[1:6] == [timedelta(seconds=s) for s in (1, 2, 4, 8, 16)]
    assert delays[-1] == MAX
    assert ThrottleState(10_000, now).delay(5, MAX) == MAX


def test_retry_after_counts_down_from_the_last_failure() -> None:
    last = datetime(2031, 1, 1, tzinfo=UTC)
    state = ThrottleState(8, last)  # 3 failures over the free ones: 8 s
    assert state.retry_after(last, 5, MAX) == 8
    assert state.retry_after(last + timedelta(seconds=7.5), 5, MAX) == 1
    assert state.retry_after(last + timedelta(seconds=8), 5, MAX) is None
    assert ThrottleState(4, last).retry_after(last, 5, MAX) is None


def test_failures_are_forgotten_after_a_quiet_period() -> None:
    last = datetime(2031, 1, 1, tzinfo=UTC)
    state = ThrottleState(9, last)
    assert state.after_failure(last + timedelta(minutes=5), timedelta(hours=1)).failures == 10
    assert state.after_failure(last + timedelta(hours=2), timedelta(hours=1)).failures == 1


@pytest.mark.parametrize(
    ("local_start", "local_expected"),
    [
        (datetime(2031, 3, 4, 10, 0, tzinfo=PARIS), datetime(2031, 4, 4, 10, 0, tzinfo=PARIS)),
        # No 31 February: the month's last day (CPC 641).
        (datetime(2031, 1, 31, 10, 0, tzinfo=PARIS), datetime(2031, 2, 28, 10, 0, tzinfo=PARIS)),
        (datetime(2032, 1, 31, 10, 0, tzinfo=PARIS), datetime(2032, 2, 29, 10, 0, tzinfo=PARIS)),
        (datetime(2031, 3, 31, 10, 0, tzinfo=PARIS), datetime(2031, 4, 30, 10, 0, tzinfo=PARIS)),
        (datetime(2031, 12, 15, 23, 30, tzinfo=PARIS), datetime(2032, 1, 15, 23, 30, tzinfo=PARIS)),
        # Across the spring DST change the legal wall-clock time is kept.
        (datetime(2031, 3, 10, 12, 0, tzinfo=PARIS), datetime(2031, 4, 10, 12, 0, tzinfo=PARIS)),
    ],
)
def test_one_calendar_month_later_in_legal_time(
    local_start: datetime, local_expected: datetime
) -> None:
    start = local_start.astimezone(UTC)
    moved = add_months(start, 1)
    assert moved.astimezone(PARIS) == local_expected
    assert moved.astimezone(PARIS).hour == local_expected.hour
    assert moved.tzinfo is UTC
    assert earliest_terms_effective_at(start) == moved


def test_a_month_across_dst_is_not_thirty_days_of_24_hours() -> None:
    start = datetime(2031, 3, 10, 12, 0, tzinfo=PARIS).astimezone(UTC)
    assert add_months(start, 1) - start == timedelta(days=31, hours=-1)
