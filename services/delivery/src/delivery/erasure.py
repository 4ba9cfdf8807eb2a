"""Crypto-shredding of a terminated account's acts (CGU §12, DESIGN §6), and of the platform's
availability probe's synthetic acts an hour after their deposit (no event: they are nobody's).

Retention asks with `retention.account-acts-erasure-requested.v1`; delivery answers with
`delivery.account-acts-erased.v1` once every act and reply of the account is unreadable.

Per act, in this order:

1. one transaction destroys the wrapped DEKs (the act's, its judge's leave's, its replies'),
   records a `key_destroyed` step for each (with the fingerprint of the destroyed wrapped key,
   never the key) and turns the act and its replies into tombstones: ids, SHA-256, dates and
   quality stay; titles, names, references and file names go. From this commit on, every copy
   of the ciphertext is unreadable, and the record says so;
2. the S3 objects are deleted and an `object_deleted` step is recorded for each; the tombstone
   then carries `objects_deleted_at`.

A crash between the two leaves a tombstone without `objects_deleted_at`: the next request
finishes the deletions. A second request (or a redelivery) erases nothing twice and confirms
again with the same list, built from the tombstones.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from delivery.acts import Act, ErasedObject, Instant, Tombstone
from delivery.context import Context
from delivery.replies import ErasedReply, Reply, parse_reply
from delivery.repository import REPLIES
from shared.contracts.envelope import Envelope
from shared.contracts.retention import AccountActsErasedV1, ErasedAct
from shared.crypto import ShredStepKind, WrappedDek
from shared.store.port import (
    Document,
    DuplicateKeyError,
    Index,
    Transaction,
    VersionConflictError,
    to_iso,
)
from shared.vault import EncryptedObjects

log = logging.getLogger(__name__)

ERASURE_STEPS: Final = "erasure_steps"
ERASURE_INDEXES: Final = (Index(ERASURE_STEPS, ("act_id", "at")),)
PROBE_BATCH: Final = 100


class ShredStep(BaseModel):
    """One recorded step of an erasure: a key destroyed (with the fingerprint of the wrapped
    key, never the key) or already absent, an object deleted."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    act_id: str
    object_id: str
    erasure_id: str
    kind: ShredStepKind
    at: Instant
    dek_id: str | None = None
    kek_id: str | None = None
    kek_version: int | None = None
    wrapped_key_sha256: str | None = None

    def document(self) -> Document:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ActEraser:
    """Crypto-shreds every act (with its judge's leave and replies) of an account."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def erase_account(self, account_id: str, erasure_id: str) -> int:
        """Shred every act of `account_id` not yet shredded and finish the deletions a crash
        interrupted. Returns how many acts were shredded now. Safe to run again."""
        shredded = 0
        acts = await self.ctx.acts.find({"recipient_account_id": account_id}, sort=[("_id", 1)])
        for found in acts:
            if isinstance(found, Act):
                tombstone = await self._shred_keys(found, erasure_id)
                shredded += 1
            else:
                tombstone = found
            if tombstone.objects_deleted_at is None:
                await self._delete_objects(tombstone, erasure_id)
        if shredded:
            log.info("erasure %s: %d act(s) crypto-shredded", erasure_id, shredded)
        return shredded

    async def erase_probe_acts(self, submitted_before: datetime) -> int:
        """Shred the probe's acts deposited before `submitted_before`, as an account's are
        (their tombstones no longer carry the flag, so each is found once). A crash between
        the two steps leaves in S3 a ciphertext whose key is gone: noise, not retried. Returns
        how many were shredded now."""
        found = await self.ctx.acts.find(
            {"probe": True, "submitted_at": {"$lte": to_iso(submitted_before)}},
            sort=[("submitted_at", 1)],
            limit=PROBE_BATCH,
        )
        shredded = 0
        for act in found:
            if not isinstance(act, Act):
                continue
            try:
                tombstone = await self._shred_keys(act, f"probe-{act.id}")
            except (VersionConflictError, DuplicateKeyError):
                continue  # another replica, or a change since it was read: the next run
            await self._delete_objects(tombstone, tombstone.erasure_id)
            shredded += 1
        if shredded:
            log.info("%d probe act(s) crypto-shredded", shredded)
        return shredded

    def _vaults(self) -> dict[str, EncryptedObjects]:
        return {v.keys_collection: v for v in (self.ctx.acts_vault, self.ctx.replies_vault)}

    async def _shred_keys(self, act: Act, erasure_id: str) -> Tombstone:
        ctx = self.ctx
        now = ctx.clock.now()
        async with ctx.store.transaction() as tx:
            rows = await tx.find(REPLIES, {"act_id": act.id}, sort=[("_id", 1)])
            replies = [r for r in map(parse_reply, rows) if isinstance(r, Reply)]
            objects = [ErasedObject(keys=ctx.acts_vault.keys_collection, object_id=act.id)]
            if act.judge_leave is not None:
                objects.append(
                    ErasedObject(
                        keys=ctx.acts_vault.keys_collection, object_id=act.judge_leave.object_id
                    )
                )
            objects.extend(
                ErasedObject(keys=ctx.replies_vault.keys_collection, object_id=reply.id)
                for reply in replies
            )
            vaults = self._vaults()
            # Key first (DESIGN §6): once this commits, every copy of the ciphertext is noise.
            for entry in objects:
                await self._destroy_key(
                    tx, vaults[entry.keys], entry.object_id, act.id, erasure_id, now
                )
            for reply in replies:
                erased = ErasedReply.of(reply, now)
                assert reply.version is not None
                await tx.replace(
                    REPLIES,
                    erased.model_dump(mode="json", by_alias=True),
                    expected_version=reply.version,
                )
            tombstone = Tombstone.of(
                act,
                erasure_id=erasure_id,
                objects=objects,
                reply_ids=[reply.id for reply in replies],
                at=now,
            )
            return await ctx.acts.save(tx, tombstone, now)

    async def _destroy_key(
        self,
        tx: Transaction,
        vault: EncryptedObjects,
        object_id: str,
        act_id: str,
        erasure_id: str,
        now: datetime,
    ) -> None:
        row = await tx.get(vault.keys_collection, object_id)
        step = ShredStep(
            id=f"{object_id}:key",
            act_id=act_id,
            object_id=object_id,
            erasure_id=erasure_id,
            kind=ShredStepKind.KEY_ALREADY_ABSENT,
            at=now,
        )
        if row is not None:
            await tx.delete(vault.keys_collection, object_id)
            wrapped = WrappedDek.model_validate(row["wrapped"])
            step = step.model_copy(
                update={
                    "kind": ShredStepKind.KEY_DESTROYED,
                    "dek_id": wrapped.dek_id.hex(),
                    "kek_id": wrapped.kek_id,
                    "kek_version": wrapped.kek_version,
                    "wrapped_key_sha256": hashlib.sha256(wrapped.to_bytes()).hexdigest(),
                }
            )
        # Else a rejected act's or a never-committed upload's key was never kept or is gone.
        await tx.insert(ERASURE_STEPS, step.document())

    async def _delete_objects(self, act: Tombstone, erasure_id: str) -> None:
        ctx = self.ctx
        vaults = self._vaults()
        for entry in act.objects:
            await vaults[entry.keys].delete_object(entry.object_id)
            step_id = f"{entry.object_id}:object"
            if await ctx.store.get(ERASURE_STEPS, step_id) is None:
                step = ShredStep(
                    id=step_id,
                    act_id=act.id,
                    object_id=entry.object_id,
                    erasure_id=erasure_id,
                    kind=ShredStepKind.OBJECT_DELETED,
                    at=ctx.clock.now(),
                )
                await ctx.store.insert(ERASURE_STEPS, step.document())
        current = await ctx.acts.get(act.id)
        assert isinstance(current, Tombstone)
        await ctx.acts.save_unstamped(
            ctx.store, current.model_copy(update={"objects_deleted_at": ctx.clock.now()})
        )

    async def erased_acts(self, tx: Transaction, account_id: str) -> list[ErasedAct]:
        """Every act ever served to the account, from its tombstone. Refuses while an act is
        not fully erased (a confirmation never lists a partial erasure)."""
        found = await self.ctx.acts.find(
            {"recipient_account_id": account_id}, sort=[("_id", 1)], reader=tx
        )
        tombstones = [a for a in found if isinstance(a, Tombstone)]
        unfinished = len(found) - sum(1 for t in tombstones if t.objects_deleted_at is not None)
        if unfinished:
            raise ErasureIncompleteError(unfinished)
        return [
            ErasedAct(
                act_id=t.id,
                sha256=t.sha256,
                served_at=t.served_at,
                erased_at=t.erased_at,
                reply_ids=list(t.reply_ids),
            )
            for t in tombstones
            if t.served_at is not None
        ]

    async def confirm(
        self, tx: Transaction, account_id: str, erasure_id: str, request: Envelope
    ) -> AccountActsErasedV1:
        """Publish `delivery.account-acts-erased.v1` (in `tx`): every act ever served to the
        account, from its tombstone. Refuses to confirm while an act is not fully erased."""
        ctx = self.ctx
        acts = await self.erased_acts(tx, account_id)
        erased_at = max((a.erased_at for a in acts), default=ctx.clock.now())
        confirmation = AccountActsErasedV1(
            erasure_id=erasure_id, account_id=account_id, acts=acts, erased_at=erased_at
        )
        await ctx.events.emit(
            tx,
            confirmation,
            subject=f"account:{account_id}",
            actor="service:delivery",
            causation=request,
        )
        return confirmation


class ErasureIncompleteError(RuntimeError):
    """An act of the account is not fully erased yet (a concurrent request is at work): the
    confirmation waits for the redelivery rather than listing a partial erasure."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} act(s) not fully erased yet")
