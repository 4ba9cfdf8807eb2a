"""What every use case of audit shares: one `Context` (store, clock, the payload vault, the
checkpoint signer, the configuration, this process's counters and the journal's lock), the
repositories, and the one way to publish an event (`Context.emit`, in the transaction of the
state change it reports)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Final

from opentelemetry import metrics

from audit.repository import CheckpointLog, Entries, Payloads, Producers, SubjectKeys, Tree
from audit.settings import Settings
from audit.vault import PayloadVault
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.crypto import SigningKeyRing
from shared.events import Emitter
from shared.store.port import DocumentStore, Transaction

# Envelopes journaled per transaction at most (group commit); see `audit.journaling`.
DEFAULT_BATCH_SIZE: Final = 256


@dataclass(frozen=True)
class Config:
    """Audit's settings as its use cases need them (no I/O, no environment)."""

    origin: str
    """The checkpoints' log origin."""
    gap_delay: timedelta = timedelta(seconds=60)
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("a batch holds at least one envelope")

    @classmethod
    def from_settings(cls, settings: Settings) -> Config:
        return cls(
            origin=settings.checkpoint_origin,
            gap_delay=timedelta(seconds=settings.gap_delay_seconds),
            batch_size=settings.journal_batch_size,
        )


@dataclass
class JournalStats:
    """Counters of this process, served at /v1/stats and mirrored as OpenTelemetry metrics."""

    appended: int = 0
    duplicates: int = 0
    gaps_detected: int = 0
    late_arrivals: int = 0
    repeated_sequences: int = 0
    checkpoints_signed: int = 0
    checkpoints_refused: int = 0
    _meter: metrics.Meter = field(default_factory=lambda: metrics.get_meter("audit.journal"))

    def __post_init__(self) -> None:
        self._counters = {
            name: self._meter.create_counter(f"audit.{name}")
            for name in (
                "appended",
                "duplicates",
                "gaps_detected",
                "late_arrivals",
                "repeated_sequences",
                "checkpoints_signed",
                "checkpoints_refused",
            )
        }

    def count(self, name: str, attributes: dict[str, str] | None = None) -> None:
        setattr(self, name, getattr(self, name) + 1)
        self._counters[name].add(1, attributes or {})

    def to_json(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self._counters}


@dataclass(frozen=True)
class Context:
    """What the use cases share; each use case takes this one argument.

    `lock` serialises what changes the journal's stored state in this process (the writer's
    batches, gap declarations, shredding); across processes, the tree state's version makes
    a second writer fail instead of forking the tree."""

    store: DocumentStore
    clock: Clock
    events: Emitter
    vault: PayloadVault
    signer: SigningKeyRing
    config: Config
    stats: JournalStats = field(default_factory=JournalStats)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @cached_property
    def entries(self) -> Entries:
        return Entries(self.store)

    @cached_property
    def tree(self) -> Tree:
        return Tree(self.store)

    @cached_property
    def checkpoint_log(self) -> CheckpointLog:
        return CheckpointLog(self.store)

    @cached_property
    def producers(self) -> Producers:
        return Producers(self.store)

    @cached_property
    def subject_keys(self) -> SubjectKeys:
        return SubjectKeys(self.store)

    @cached_property
    def payloads(self) -> Payloads:
        return Payloads(self.store)

    async def emit(
        self,
        tx: Transaction,
        payload: EventPayload,
        *,
        subject: str,
        causation: Envelope | None = None,
    ) -> Envelope:
        """Store the event with `tx`'s state change (the relay publishes it after commit)."""
        return await self.events.emit(tx, payload, subject=subject, causation=causation)
