"""Per-producer sequence tracking: which `producer_seq` audit still waits for (pure, no I/O).

The outbox relay numbers each producer's events 1, 2, 3, ... but publishes a batch
concurrently, so events may arrive slightly out of order. For each producer audit keeps the
highest contiguous sequence seen and the runs of sequences already seen beyond it. A gap that
stays open longer than the configured delay is declared once; the sequences it covers are then
recorded as missing (a late arrival is still journaled and struck off the list) and tracking
resumes after the gap, so the state stays small whatever happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

from shared.store.port import VERSION, from_iso, to_iso

Run = list[int]  # [first, last], inclusive


class Arrival(StrEnum):
    IN_ORDER = "in_order"
    AHEAD = "ahead"  # opens or extends a gap
    LATE = "late"  # fills a gap already declared
    REPEATED = "repeated"  # a sequence number already seen, under another event id


@dataclass(frozen=True)
class Gap:
    producer: str
    expected_seq: int
    first_seen_seq: int


class ProducerDocument(TypedDict):
    """A producer's tracking as stored (`_id` is the producer)."""

    producer: str
    contiguous: int
    ahead: list[Run]
    gap_since: str | None
    missing: list[Run]


@dataclass
class ProducerSequence:
    producer: str
    contiguous: int = 0
    ahead: list[Run] = field(default_factory=list)
    gap_since: datetime | None = None
    missing: list[Run] = field(default_factory=list)
    version: int | None = field(default=None, compare=False, repr=False)
    """The stored version it was read at (None: never stored)."""

    def observe(self, seq: int, now: datetime) -> Arrival:
        """Record that `seq` arrived."""
        if seq <= self.contiguous:
            return Arrival.LATE if _remove(self.missing, seq) else Arrival.REPEATED
        if seq == self.contiguous + 1:
            self.contiguous = seq
            self._absorb()
            return Arrival.IN_ORDER
        if not _insert(self.ahead, seq):
            return Arrival.REPEATED
        if self.gap_since is None:
            self.gap_since = now
        return Arrival.AHEAD

    def overdue(self, now: datetime, delay: timedelta) -> Gap | None:
        """The open gap if it has waited longer than `delay`."""
        if not self.ahead or self.gap_since is None or now - self.gap_since < delay:
            return None
        return Gap(self.producer, self.contiguous + 1, self.ahead[0][0])

    def declare(self, gap: Gap, now: datetime) -> None:
        """The gap was reported: remember its sequences as missing and move past it."""
        self.missing.append([gap.expected_seq, gap.first_seen_seq - 1])
        self.contiguous = gap.first_seen_seq - 1
        self._absorb()
        self.gap_since = now if self.ahead else None

    def _absorb(self) -> None:
        while self.ahead and self.ahead[0][0] == self.contiguous + 1:
            self.contiguous = self.ahead.pop(0)[1]
        if not self.ahead:
            self.gap_since = None

    def to_document(self) -> ProducerDocument:
        return {
            "producer": self.producer,
            "contiguous": self.contiguous,
            "ahead": self.ahead,
            "gap_since": to_iso(self.gap_since) if self.gap_since else None,
            "missing": self.missing,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ProducerSequence:
        gap_since = document.get("gap_since")
        version = document.get(VERSION)
        return cls(
            producer=str(document["producer"]),
            contiguous=int(document["contiguous"]),
            ahead=[[int(a), int(b)] for a, b in document.get("ahead", [])],
            gap_since=from_iso(gap_since) if gap_since else None,
            missing=[[int(a), int(b)] for a, b in document.get("missing", [])],
            version=int(version) if version is not None else None,
        )


def _insert(runs: list[Run], value: int) -> bool:
    """Add `value` to sorted disjoint runs, merging neighbours; False if already present."""
    for position, (first, last) in enumerate(runs):
        if first <= value <= last:
            return False
        if value == last + 1:
            runs[position][1] = value
            if position + 1 < len(runs) and runs[position + 1][0] == value + 1:
                runs[position][1] = runs.pop(position + 1)[1]
            return True
        if value == first - 1:
            runs[position][0] = value
            return True
        if value < first:
            runs.insert(position, [value, value])
            return True
    runs.append([value, value])
    return True


def _remove(runs: list[Run], value: int) -> bool:
    """Strike `value` out of the runs; False if it was not in any."""
    for position, (first, last) in enumerate(runs):
        if first <= value <= last:
            pieces = [[first, value - 1]] if value > first else []
            if value < last:
                pieces.append([value + 1, last])
            runs[position : position + 1] = pieces
            return True
    return False
