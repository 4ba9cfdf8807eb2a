"""UUIDv7 identifiers (RFC 9562): layout, time order, monotonic bursts."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared import ids
from shared.ids import new_id, uuid7

# An instant with a non-zero millisecond part, so truncation errors would show.
AT = datetime(2031, 7, 14, 9, 30, 15, 123_456, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    # The generator is monotonic per process: ids made by other tests at later instants would
    # otherwise lend their millisecond to these ones. Restored after each test.
    monkeypatch.setattr(ids, "_last_ms", -1)
    monkeypatch.setattr(ids, "_counter", 0)


def unix_ms(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(milliseconds=1)


def timestamp_ms(value: uuid.UUID) -> int:
    return value.int >> 80


def test_version_and_variant_bits_are_those_of_uuid7() -> None:
    for _ in range(100):
        value = uuid7(AT)
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert (value.int >> 76) & 0xF == 0x7
        assert (value.int >> 62) & 0b11 == 0b10


def test_timestamp_field_is_the_unix_millisecond_of_the_instant() -> None:
    assert timestamp_ms(uuid7(AT)) == unix_ms(AT) == 1_941_787_815_123


@pytest.mark.parametrize("microsecond", [0, 1_000, 999, 999_999, 500_500])
def test_timestamp_field_truncates_to_the_millisecond(microsecond: int) -> None:
    instant = AT.replace(microsecond=microsecond)
    assert timestamp_ms(uuid7(instant)) == unix_ms(instant)


def test_ids_of_later_milliseconds_sort_after_earlier_ones() -> None:
    instants = [AT + timedelta(milliseconds=step) for step in range(50)]
    made = [uuid7(instant) for instant in instants]
    assert [timestamp_ms(value) for value in made] == [unix_ms(i) for i in instants]
    assert made == sorted(made)
    strings = [str(value) for value in made]
    assert strings == sorted(strings)


def test_a_burst_at_one_instant_is_strictly_increasing_and_unique() -> None:
    burst = [uuid7(AT) for _ in range(10_000)]
    assert len(set(burst)) == len(burst)
    assert all(a < b for a, b in itertools.pairwise(burst))
    # Stores sort by the canonical string: it must give the same order.
    strings = [str(value) for value in burst]
    assert strings == sorted(strings)
    # The 12-bit counter holds at least 2048 ids per millisecond: a burst of 10k borrows at
    # most a handful of the following milliseconds, never goes back.
    stamps = [timestamp_ms(value) for value in burst]
    assert stamps[0] == unix_ms(AT)
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] <= 5


def test_a_clock_going_back_does_not_break_the_order() -> None:
    later = uuid7(AT)
    earlier = uuid7(AT - timedelta(seconds=2))
    assert earlier > later


def test_ids_made_by_concurrent_threads_are_unique() -> None:
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def burst(out: list[uuid.UUID]) -> None:
        out.extend(uuid7(AT) for _ in range(2_000))

    threads = [threading.Thread(target=burst, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [value for out in made for value in out]
    assert len(set(everything)) == 8_000
    for out in made:
        assert out == sorted(out)


def test_new_id_is_the_canonical_string_of_a_uuid7() -> None:
    text = new_id(AT)
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert parsed.version == 7
    assert timestamp_ms(parsed) == unix_ms(AT)
