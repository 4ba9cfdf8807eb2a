"""Retention's use cases in one place: what the HTTP API, the consumers, the scheduler and the
CLI call. Each feature lives in its own module — schedules (and the scheduler), erasures (the
protocol's bookkeeping and alerts), certificates, holds, and the contacts captured for the
certificate — all on one `Context`; `wire` builds them (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from retention.certificates import Certificates
from retention.contacts import Contacts
from retention.context import Alerts, Context, ObjectPort, Policy
from retention.erasures import Erasures
from retention.holds import Holds
from retention.schedules import Schedules
from retention.settings import Settings
from shared.clock import Clock
from shared.crypto import KeyRing, SigningKeyRing
from shared.events import Emitter
from shared.messaging.outbox import Outbox
from shared.receipts import NoReceipts, ReceiptSource
from shared.store.port import DocumentStore


@dataclass(frozen=True)
class Retention:
    """Every use case of retention, sharing one context."""

    ctx: Context
    schedules: Schedules
    erasures: Erasures
    certificates: Certificates
    holds: Holds
    contacts: Contacts

    @property
    def alerts_raised(self) -> int:
        """Erasure alerts raised by this process (timeouts, mismatches, undeliverable)."""
        return self.ctx.alerts.raised


def wire(
    settings: Settings,
    *,
    store: DocumentStore,
    outbox: Outbox,
    clock: Clock,
    signer: SigningKeyRing,
    keys: KeyRing,
    objects: ObjectPort,
    receipts: ReceiptSource | None = None,
) -> Retention:
    """The composition root: retention's use cases on the ports given (nothing connects;
    without `receipts`, certificates list every receipt as missing)."""
    ctx = Context(
        store=store,
        outbox=outbox,
        clock=clock,
        events=Emitter(outbox, clock, settings.service_name),
        policy=Policy.from_settings(settings),
        signer=signer,
        keys=keys,
        objects=objects,
        receipts=receipts or NoReceipts(),
        alerts=Alerts(),
    )
    return Retention(
        ctx,
        schedules=Schedules(ctx),
        erasures=Erasures(ctx),
        certificates=Certificates(ctx),
        holds=Holds(ctx),
        contacts=Contacts(ctx),
    )
