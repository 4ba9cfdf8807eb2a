"""What every retention use case shares: one `Context` (store, outbox and emitter, clock,
policy, crypto, object store, audit receipts, the repositories and the alert count)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo

from opentelemetry import metrics

from retention.records import Outgoing
from retention.repository import (
    CertificateRepository,
    ContactRepository,
    ErasureRepository,
    HoldRepository,
    LookupRepository,
    ScheduleRepository,
    ServedActRepository,
)
from retention.settings import Settings
from shared.clock import Clock
from shared.crypto import KeyRing, SigningKeyRing
from shared.events import Emitter
from shared.french import PARIS
from shared.messaging.outbox import Outbox
from shared.receipts import ReceiptSource
from shared.store.port import DocumentStore, Transaction


class ObjectPort(Protocol):
    """What retention needs from the object store (`shared.objects.ObjectStore`)."""

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = ...,
        metadata: Mapping[str, str] | None = ...,
    ) -> object: ...

    async def get(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class Policy:
    grace_months: int = 2  # seed CGU §11.1, §12: acts readable two months after termination
    registry_years: int = 5  # décret 2021-1625 art. 21: destroyed five years after the end
    zone: ZoneInfo = PARIS
    confirmation_timeout: timedelta = timedelta(hours=72)
    batch_size: int = 100
    public_url: str = "http://127.0.0.1:8106"
    # A certificate waits this long for audit to checkpoint its confirmations (so that it
    # carries their receipts) before it is issued listing the missing ones; it looks again
    # every `receipt_recheck`.
    receipt_grace: timedelta = timedelta(minutes=15)
    receipt_recheck: timedelta = timedelta(seconds=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            grace_months=settings.grace_months,
            registry_years=settings.registry_retention_years,
            zone=settings.zone,
            confirmation_timeout=timedelta(hours=settings.confirmation_timeout_hours),
            batch_size=settings.scheduler_batch_size,
            public_url=settings.public_url,
            receipt_grace=timedelta(minutes=settings.receipt_grace_minutes),
        )


class Alerts:
    """Erasure alerts raised (timeout, mismatch, certificate undeliverable): a metric, and the
    same count readable in process (tests, health pages)."""

    def __init__(self) -> None:
        self.raised = 0
        self._counter = metrics.get_meter("retention").create_counter(
            "retention.erasure_overdue", description="erasure alerts raised (timeout, mismatch)"
        )

    def count(self, purpose: str) -> None:
        self.raised += 1
        self._counter.add(1, {"purpose": purpose})


@dataclass(frozen=True)
class Context:
    """What the use cases need; the repositories share its clock."""

    store: DocumentStore
    outbox: Outbox
    clock: Clock
    events: Emitter
    policy: Policy
    signer: SigningKeyRing
    keys: KeyRing
    objects: ObjectPort
    receipts: ReceiptSource
    alerts: Alerts

    async def emit(self, tx: Transaction, events: Iterable[Outgoing]) -> None:
        """Store events with the transaction's state change (the outbox relays them)."""
        for event in events:
            await self.events.emit(tx, event.payload, subject=event.subject)

    @cached_property
    def schedules(self) -> ScheduleRepository:
        return ScheduleRepository(self.clock)

    @cached_property
    def erasures(self) -> ErasureRepository:
        return ErasureRepository(self.clock)

    @cached_property
    def holds(self) -> HoldRepository:
        return HoldRepository(self.clock)

    @cached_property
    def contacts(self) -> ContactRepository:
        return ContactRepository(self.clock)

    @cached_property
    def served_acts(self) -> ServedActRepository:
        return ServedActRepository(self.clock)

    @cached_property
    def lookups(self) -> LookupRepository:
        return LookupRepository(self.clock)

    @cached_property
    def certificates(self) -> CertificateRepository:
        return CertificateRepository(self.clock)
