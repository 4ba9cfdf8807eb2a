"""Consent's composition root: `wire` builds every use case on one `Context` from the
configuration and the ports, without I/O (nothing connects until the app's lifespan starts).
The app factory (`consent.main`) and the unit tests' harness both use it.

| use case | module |
|---|---|
| register a declaration with its proofs | `consent.registration` |
| identity's events, the person's revocation, expiry | `consent.lifecycle` |
| read a declaration, the registry lookup (rate-limited) | `consent.registry` |
| restriction and objection requests, export, proof download | `consent.rights` |
| a new domicile with its proof of address | `consent.domicile` |
| purge a declaration that ended, crypto-shredding its proofs | `consent.purge` |

Every state change and the event announcing it commit in one transaction (outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consent.context import Config, Context
from consent.domicile import Domicile
from consent.lifecycle import Lifecycle
from consent.proofs import ProofVault
from consent.purge import Purge
from consent.registration import Registration
from consent.registry import Registry
from consent.rights import Rights
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore
from shared.vault import ObjectPort

PROOF_URL: Final = "/v1/me/proofs/{id}"
"""Where the person downloads a proof (the export and their declaration link to it)."""


@dataclass(frozen=True)
class Consent:
    """Every use case of consent, sharing one context."""

    ctx: Context
    registration: Registration
    lifecycle: Lifecycle
    registry: Registry
    rights: Rights
    purge: Purge
    domicile: Domicile

    @classmethod
    def on(cls, ctx: Context) -> Consent:
        return cls(
            ctx,
            Registration(ctx),
            Lifecycle(ctx),
            Registry(ctx, PROOF_URL),
            Rights(ctx, PROOF_URL),
            Purge(ctx),
            Domicile(ctx),
        )

    async def sweep_orphans(self) -> None:
        """Proof uploads whose declaration never committed (a crash mid-request)."""
        await self.ctx.vault.sweep(self.ctx.config.orphan_grace)


def wire(
    config: Config,
    *,
    store: DocumentStore,
    outbox: Outbox,
    clock: Clock,
    objects: ObjectPort,
    keys: KeyRing,
) -> Consent:
    """Consent's use cases on these ports (no I/O here)."""
    vault = ProofVault(objects, keys, store, clock)
    return Consent.on(Context(store=store, outbox=outbox, clock=clock, vault=vault, config=config))
