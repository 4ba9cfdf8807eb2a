"""Purging a declaration: destroy the person's data and crypto-shred the proofs, keeping a
tombstone (ids, dates, statuses) so past evidence still resolves. Retention asks for it five
years after the consent ended (`consent.consumers`); a live declaration is refused.

Two steps: the proofs' keys and objects are shredded in the vault, outside any transaction
(idempotent: a rerun reports keys already gone); then the tombstone, the proofs' reduced
metadata, the requests' deletion and `consent.declaration-purged.v1` commit together.
"""

from __future__ import annotations

import logging

from consent.context import Context
from consent.declarations import Declaration
from consent.domain import LIVE
from consent.refusals import DeclarationNotFound, NotPurgeable
from shared.contracts.consent import ProofShredded
from shared.contracts.envelope import Envelope
from shared.crypto import ShredStep, ShredStepKind, crypto_shred
from shared.store.port import Transaction

log = logging.getLogger(__name__)


class Purge:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def purge(self, declaration_id: str) -> Declaration:
        """Both steps at once (safe to rerun after a crash)."""
        declaration = await self.purgeable(declaration_id)
        if declaration.purged_at is not None:
            return declaration
        proofs = await self.shred_proofs(declaration)
        async with self._ctx.outbox.transaction() as tx:
            return await self.record_purge(tx, declaration_id, proofs)

    async def purgeable(self, declaration_id: str) -> Declaration:
        """The declaration if it may be purged (or already is); refused otherwise."""
        declaration = await self._ctx.declarations.get(declaration_id)
        if declaration is None:
            raise DeclarationNotFound()
        if declaration.purged_at is None and declaration.status in LIVE:
            raise NotPurgeable(f"a {declaration.status.value} declaration cannot be purged")
        return declaration

    async def shred_proofs(self, declaration: Declaration) -> list[ProofShredded]:
        """First step: destroy each proof's wrapped key, then its object."""
        journal = _CollectedSteps()
        for proof_id in declaration.proof_ids:
            await crypto_shred(
                proof_id,
                keys=self._ctx.vault,
                objects=self._ctx.vault,
                journal=journal,
                clock=self._ctx.clock,
            )
        return journal.shredded()

    async def record_purge(
        self,
        tx: Transaction,
        declaration_id: str,
        proofs: list[ProofShredded],
        cause: Envelope | None = None,
    ) -> Declaration:
        """Second step, in `tx`. If the declaration is already purged nothing changes; with a
        `cause` (a purge request arriving after the purge: retention asked twice, or raced
        another delivery) the purge is announced again, so the requester is never left
        waiting."""
        ctx = self._ctx
        declaration = await ctx.declarations.get(declaration_id, tx)
        if declaration is None:
            raise DeclarationNotFound()
        if declaration.purged_at is not None:
            if cause is not None:
                again = declaration.purge_announced_again()
                await ctx.emit(tx, declaration.subject, again, causation=cause)
            return declaration
        now = ctx.clock.now()
        tombstone, purged = declaration.purge(now, proofs)
        stored = await ctx.declarations.save(tx, tombstone, now)
        for proof_id in declaration.proof_ids:
            proof = await ctx.proofs.get(proof_id, tx)
            if proof is not None:
                await ctx.proofs.save(tx, proof.shredded(now), now)
        for request in await ctx.restrictions.find({"declaration_id": declaration_id}, reader=tx):
            await ctx.restrictions.delete(tx, request)
        await ctx.emit(tx, declaration.subject, purged, causation=cause)
        log.info("declaration %s purged", declaration_id)
        return stored


class _CollectedSteps:
    """Collects crypto_shred's steps for the purge event."""

    def __init__(self) -> None:
        self.steps: list[ShredStep] = []

    async def record(self, step: ShredStep) -> None:
        self.steps.append(step)

    def shredded(self) -> list[ProofShredded]:
        return [
            ProofShredded(
                proof_id=step.object_id,
                dek_id=step.dek_id,
                kek_id=step.kek_id,
                kek_version=step.kek_version,
                wrapped_key_sha256=step.wrapped_key_sha256,
            )
            for step in self.steps
            if step.kind in {ShredStepKind.KEY_DESTROYED, ShredStepKind.KEY_ALREADY_ABSENT}
        ]
