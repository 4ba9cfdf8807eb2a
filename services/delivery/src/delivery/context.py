"""What every use case of delivery shares: one `Context` (store, outbox, clock, vaults, the
evidence signer, the scanner, the consent registry, the receipts source and the service's
configuration) and the one way to publish an event about an act (`Context.emit`, in the
transaction of the state change; the signed evidence of the step names the event's id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from delivery.acts import Act
from delivery.consent import ConsentAuthority
from delivery.evidence import EvidenceSigner
from delivery.receipts import ReceiptSource
from delivery.repository import ActRepository
from delivery.settings import Settings
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.events import Emitter
from shared.legal_calendar import ServiceZones
from shared.malware import MalwareScanner
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore, Transaction
from shared.vault import EncryptedObjects


@dataclass(frozen=True)
class Config:
    """Delivery's settings as its use cases need them (no I/O, no environment)."""

    max_act_bytes: int
    max_leave_bytes: int
    max_metadata_bytes: int
    max_reply_bytes: int
    service_zones: ServiceZones = ServiceZones.RECIPIENT_AND_OFFICE
    portal_url: str = "http://127.0.0.1:8101/"
    idempotency_retention: timedelta = timedelta(hours=72)
    orphan_grace: timedelta = timedelta(hours=1)
    probe_act_retention: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> Config:
        return cls(
            max_act_bytes=settings.max_act_bytes,
            max_leave_bytes=settings.max_leave_bytes,
            max_metadata_bytes=settings.max_metadata_bytes,
            max_reply_bytes=settings.max_reply_bytes,
            service_zones=settings.service_zones,
            portal_url=settings.portal_url,
            idempotency_retention=timedelta(hours=settings.idempotency_retention_hours),
            orphan_grace=timedelta(seconds=settings.orphan_grace_seconds),
            probe_act_retention=timedelta(minutes=settings.probe_act_retention_minutes),
        )


@dataclass(frozen=True)
class Context:
    """What the use cases share; each use case module takes this one argument."""

    store: DocumentStore
    outbox: Outbox
    clock: Clock
    config: Config
    signer: EvidenceSigner
    acts_vault: EncryptedObjects
    replies_vault: EncryptedObjects
    scanner: MalwareScanner
    consent: ConsentAuthority
    """The registry of record, asked at each sending instant (`delivery.consent`)."""
    receipts: ReceiptSource | None = None

    @property
    def events(self) -> Emitter:
        return Emitter(self.outbox, self.clock, "delivery")

    @property
    def acts(self) -> ActRepository:
        return ActRepository(self.store)

    async def emit(
        self, tx: Transaction, act: Act, payload: EventPayload, *, actor: str
    ) -> Envelope:
        """An event about `act`, stored with `tx`'s state change; evidence names its id."""
        return await self.events.emit(tx, payload, subject=act.subject, actor=actor)
