"""What every use case of consent shares: one `Context` (store, outbox, clock, the proof vault
and the service's configuration), its repositories, and the one way to publish an event
(`Context.emit`, in the transaction of the state change it reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from consent.declarations import (
    Consultation,
    Declaration,
    LookupWindow,
    Proof,
    RestrictionRequest,
)
from consent.domain import FRESHNESS_MONTHS
from consent.lookup import LookupLimits
from consent.proofs import ProofVault
from consent.refusals import no_declaration_linked
from consent.repository import (
    Repository,
    consultations,
    declarations,
    lookup_windows,
    proofs,
    restrictions,
)
from consent.settings import Settings
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.events import Emitter
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore, Transaction


@dataclass(frozen=True)
class Config:
    """Consent's settings as its use cases need them (no I/O, no environment)."""

    pepper: bytes
    freshness_months: int = FRESHNESS_MONTHS
    lookup_limits: LookupLimits = field(default_factory=LookupLimits)
    orphan_grace: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> Config:
        return cls(
            pepper=settings.search_pepper.get_secret_value().encode("utf-8"),
            freshness_months=settings.freshness_months,
            lookup_limits=LookupLimits(
                per_office=settings.lookups_per_office_per_minute,
                per_judicial_client=settings.lookups_per_judicial_client_per_minute,
            ),
        )


@dataclass(frozen=True)
class Context:
    """What the use cases share; each use case module takes this one argument."""

    store: DocumentStore
    outbox: Outbox
    clock: Clock
    vault: ProofVault
    config: Config

    @property
    def events(self) -> Emitter:
        return Emitter(self.outbox, self.clock, "consent")

    @property
    def declarations(self) -> Repository[Declaration]:
        return declarations(self.store)

    @property
    def proofs(self) -> Repository[Proof]:
        return proofs(self.store)

    @property
    def restrictions(self) -> Repository[RestrictionRequest]:
        return restrictions(self.store)

    @property
    def consultations(self) -> Repository[Consultation]:
        return consultations(self.store)

    @property
    def lookup_windows(self) -> Repository[LookupWindow]:
        return lookup_windows(self.store)

    async def declaration_of_account(self, account_id: str) -> Declaration:
        """The latest declaration linked to the account (the person's own)."""
        found = await self.declarations.find(
            {"account_id": account_id}, sort=[("_id", -1)], limit=1
        )
        if not found:
            raise no_declaration_linked()
        return found[0]

    async def emit(
        self,
        tx: Transaction,
        subject: str,
        payload: EventPayload,
        *,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        """An event about `subject`, stored with `tx`'s state change."""
        return await self.events.emit(
            tx, payload, subject=subject, actor=actor, causation=causation
        )
