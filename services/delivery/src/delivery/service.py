"""Delivery's composition root: `wire` builds every use case on one `Context` from the
settings and the ports, without I/O (nothing connects until the app's lifespan starts). The
app factory (`delivery.main`) and the unit tests' harness both use it.

| use case | module |
|---|---|
| deposit an act, replay it for the same key | `delivery.deposit` |
| serve scheduled acts at the window's opening | `delivery.scheduling` |
| flag acts served after a consent end learnt late | `delivery.reconciliation` |
| hand the content over, finalise the quality of service | `delivery.handover` |
| the office declares the lettre simple posted | `delivery.lettre_simple` |
| the recipient's replies | `delivery.replies` |
| what the office and the recipient see, the evidence set | `delivery.reads` |
| crypto-shred an account's acts, and the availability probe's | `delivery.erasure` |
"""

from __future__ import annotations

from dataclasses import dataclass

from delivery.consent import ConsentAuthority
from delivery.context import Config, Context
from delivery.deposit import Deposits
from delivery.erasure import ActEraser
from delivery.evidence import EvidenceSigner
from delivery.handover import Handover
from delivery.lettre_simple import Letters
from delivery.reads import Views
from delivery.receipts import ReceiptSource
from delivery.reconciliation import Reconciliation
from delivery.registry_copy import RegistryCopy
from delivery.replies import Replies
from delivery.scheduling import Scheduler
from delivery.vault import act_vault, reply_vault
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.malware import MalwareScanner
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore
from shared.vault import ObjectPort


@dataclass(frozen=True)
class Delivery:
    """Every use case of delivery, sharing one context."""

    ctx: Context
    deposits: Deposits
    scheduler: Scheduler
    handover: Handover
    letters: Letters
    replies: Replies
    views: Views
    eraser: ActEraser
    reconciliation: Reconciliation
    registry_copy: RegistryCopy

    @classmethod
    def on(cls, ctx: Context) -> Delivery:
        eraser = ActEraser(ctx)
        return cls(
            ctx,
            Deposits(ctx),
            Scheduler(ctx),
            Handover(ctx),
            Letters(ctx),
            Replies(ctx),
            Views(ctx),
            eraser,
            Reconciliation(ctx),
            RegistryCopy(ctx, eraser),
        )

    async def sweep_orphans(self) -> None:
        """Housekeeping: uploads that never committed, expired idempotency keys, and the
        availability probe's acts once their run is over."""
        config = self.ctx.config
        await self.ctx.acts_vault.sweep(config.orphan_grace)
        await self.ctx.replies_vault.sweep(config.orphan_grace)
        await self.deposits.keys.forget_expired()
        await self.eraser.erase_probe_acts(self.ctx.clock.now() - config.probe_act_retention)


def wire(
    config: Config,
    *,
    store: DocumentStore,
    outbox: Outbox,
    clock: Clock,
    objects: ObjectPort,
    keys: KeyRing,
    signer: EvidenceSigner,
    scanner: MalwareScanner,
    consent: ConsentAuthority,
    receipts: ReceiptSource | None = None,
) -> Delivery:
    """Delivery's use cases on these ports (no I/O here)."""
    ctx = Context(
        store=store,
        outbox=outbox,
        clock=clock,
        config=config,
        signer=signer,
        acts_vault=act_vault(objects, keys, store, clock),
        replies_vault=reply_vault(objects, keys, store, clock),
        scanner=scanner,
        consent=consent,
        receipts=receipts,
    )
    return Delivery.on(ctx)
