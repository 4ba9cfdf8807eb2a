"""Per-producer sequence tracking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from audit.gaps import Arrival, Gap, ProducerSequence

T0 = datetime(2031, 2, 3, 9, 0, tzinfo=UTC)
DELAY = timedelta(seconds=60)


def test_in_order_arrivals_open_no_gap() -> None:
    tracker = ProducerSequence("notify")
    assert [tracker.observe(seq, T0) for seq in (1, 2, 3)] == [Arrival.IN_ORDER] * 3
    assert tracker.contiguous == 3
    assert tracker.overdue(T0 + timedelta(hours=1), DELAY) is None


def test_a_reordered_batch_closes_its_gap_without_a_report() -> None:
    tracker = ProducerSequence("notify")
    for seq in (1, 3, 5, 4, 2):
        tracker.observe(seq, T0)
    assert tracker.contiguous == 5
    assert tracker.ahead == []
    assert tracker.gap_since is None
    assert tracker.overdue(T0 + timedelta(hours=1), DELAY) is None


def test_a_gap_is_overdue_only_after_the_delay() -> None:
    tracker = ProducerSequence("notify")
    tracker.observe(1, T0)
    assert tracker.observe(4, T0) is Arrival.AHEAD
    tracker.observe(5, T0 + timedelta(seconds=10))
    assert tracker.overdue(T0 + timedelta(seconds=59), DELAY) is None
    assert tracker.overdue(T0 + timedelta(seconds=60), DELAY) == Gap("notify", 2, 4)


def test_a_declared_gap_is_not_declared_again_and_a_late_arrival_is_recognised() -> None:
    tracker = ProducerSequence("notify")
    tracker.observe(1, T0)
    tracker.observe(4, T0)
    gap = tracker.overdue(T0 + DELAY, DELAY)
    assert gap is not None
    tracker.declare(gap, T0 + DELAY)
    assert tracker.contiguous == 4
    assert tracker.missing == [[2, 3]]
    assert tracker.overdue(T0 + 10 * DELAY, DELAY) is None
    assert tracker.observe(3, T0 + 2 * DELAY) is Arrival.LATE
    assert tracker.missing == [[2, 2]]
    assert tracker.observe(3, T0 + 2 * DELAY) is Arrival.REPEATED


def test_a_second_gap_beyond_the_first_is_timed_from_its_declaration() -> None:
    tracker = ProducerSequence("notify")
    for seq in (1, 3, 6):
        tracker.observe(seq, T0)
    first = tracker.overdue(T0 + DELAY, DELAY)
    assert first == Gap("notify", 2, 3)
    tracker.declare(first, T0 + DELAY)
    assert tracker.contiguous == 3
    assert tracker.overdue(T0 + DELAY + timedelta(seconds=59), DELAY) is None
    assert tracker.overdue(T0 + 2 * DELAY, DELAY) == Gap("notify", 4, 6)


def test_a_reused_sequence_number_is_reported_as_repeated() -> None:
    tracker = ProducerSequence("notify")
    tracker.observe(1, T0)
    tracker.observe(3, T0)
    assert tracker.observe(1, T0) is Arrival.REPEATED
    assert tracker.observe(3, T0) is Arrival.REPEATED


def test_state_survives_a_round_trip_through_a_document() -> None:
    tracker = ProducerSequence("notify")
    for seq in (1, 2, 5, 6, 9):
        tracker.observe(seq, T0)
    restored = ProducerSequence.from_document(tracker.to_document())
    assert restored == tracker
    assert restored.ahead == [[5, 6], [9, 9]]
