from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import (
    ClockOffsetNotAllowedError,
    ManualClock,
    SystemClock,
    clock_from_environment,
)
from shared.settings import Environment


def test_dev_offset_shifts_the_clock() -> None:
    shifted = clock_from_environment(Environment.DEV, offset_seconds=3 * 86_400)
    reference = SystemClock()
    delta = shifted.now() - reference.now()
    assert timedelta(days=3) - timedelta(seconds=5) < delta <= timedelta(days=3)


def test_negative_dev_offset_moves_the_clock_back() -> None:
    shifted = clock_from_environment(Environment.DEV, offset_seconds=-3_600)
    assert shifted.now() < SystemClock().now() - timedelta(minutes=59)


@pytest.mark.parametrize("environment", [Environment.TEST, Environment.PRODUCTION])
def test_offset_outside_dev_refuses_to_start(environment: Environment) -> None:
    with pytest.raises(ClockOffsetNotAllowedError, match="SECURACT_CLOCK_OFFSET_SECONDS"):
        clock_from_environment(environment, offset_seconds=1.0)


@pytest.mark.parametrize("environment", list(Environment))
def test_no_offset_gives_the_plain_system_clock_in_every_mode(environment: Environment) -> None:
    clock = clock_from_environment(environment, offset_seconds=0.0)
    assert abs(clock.now() - SystemClock().now()) < timedelta(seconds=5)
    assert clock.now().tzinfo is UTC


def test_non_finite_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        clock_from_environment(Environment.DEV, offset_seconds=float("nan"))


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2025, 3, 3, 6, 0, tzinfo=UTC))
    clock.advance(timedelta(seconds=1))
    assert clock.now() == datetime(2025, 3, 3, 6, 0, 1, tzinfo=UTC)
