"""Checkpoints: the journal's tree signed (C2SP signed notes) when it grew, after proving it
extends the last signed one, and served with receipts (tlog-proofs) under the latest."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from audit import merkle
from audit.checkpoint import Checkpoint, Receipt, open_checkpoint
from audit.context import Context
from audit.domain import leaf_data
from audit.proofs import Proofs, TreeHead
from audit.repository import CheckpointLog, CheckpointRecord, JournalCorruptError
from shared.crypto import IntegrityError
from shared.store.port import DuplicateKeyError, from_iso, to_iso
from shared.telemetry import OUTCOME, span

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredCheckpoint:
    checkpoint: Checkpoint
    note: str
    signed_at: str


class Checkpoints:
    """Signs checkpoints of the journal and serves them; never stores two inconsistent ones."""

    def __init__(self, ctx: Context, proofs: Proofs) -> None:
        self.ctx = ctx
        self._proofs = proofs
        self.origin = ctx.config.origin

    def verifier_keys(self) -> list[str]:
        return self.ctx.signer.verifier_keys()

    async def latest(self) -> StoredCheckpoint | None:
        found = await self.ctx.checkpoint_log.latest()
        return self._opened(found) if found else None

    async def latest_signed_at(self) -> datetime | None:
        """When the latest checkpoint was signed (its note unread: for metrics)."""
        found = await self.ctx.checkpoint_log.latest()
        return from_iso(found.signed_at) if found else None

    async def since(self, from_size: int, limit: int) -> list[StoredCheckpoint]:
        return [
            self._opened(found) for found in await self.ctx.checkpoint_log.since(from_size, limit)
        ]

    async def signed_size(self) -> int:
        """The size proofs may go up to: the latest checkpoint's (0 before the first)."""
        latest = await self.latest()
        return latest.checkpoint.size if latest else 0

    def _opened(self, record: CheckpointRecord) -> StoredCheckpoint:
        # The root served is the one the signature covers, not a copy beside it.
        checkpoint = open_checkpoint(record.note, self.ctx.signer.published, origin=self.origin)
        if checkpoint.size != record.size:
            raise IntegrityError(f"checkpoint {record.key} does not match its note")
        return StoredCheckpoint(checkpoint, record.note, record.signed_at)

    async def sign_if_grown(self) -> StoredCheckpoint | None:
        """Sign a checkpoint of the current tree if it grew since the last one, after proving
        the new tree extends the last signed one; None if nothing was signed."""
        with span("checkpoint signing", root=True) as signing:
            signed = await self._sign_if_grown()
            signing.set_attribute(OUTCOME, "signed" if signed else "unchanged")
            return signed

    async def _sign_if_grown(self) -> StoredCheckpoint | None:
        stats = self.ctx.stats
        head = await self._proofs.head()
        latest = await self.latest()
        if latest is not None and head.size <= latest.checkpoint.size:
            if head.size < latest.checkpoint.size:
                stats.count("checkpoints_refused")
                log.error(
                    "journal has %d entries but checkpoint %d was signed: entries lost",
                    head.size,
                    latest.checkpoint.size,
                )
            return None
        if not await self._extends(latest, head):
            stats.count("checkpoints_refused")
            return None
        signer = self.ctx.signer
        checkpoint = Checkpoint(self.origin, head.size, head.root)
        # Off the event loop when the key is in an HSM (a signature is a device round trip).
        note = await signer.sign_note_async(checkpoint.body())
        signed_at = to_iso(self.ctx.clock.now())
        try:
            await CheckpointLog.add(
                self.ctx.store,
                {
                    "size": head.size,
                    "root": head.root.hex(),
                    "note": note,
                    "signed_at": signed_at,
                    "key_id": signer.active.key_id,
                },
            )
        except DuplicateKeyError:
            return None  # another signer got there first, with the same tree
        stats.count("checkpoints_signed")
        return StoredCheckpoint(checkpoint, note, signed_at)

    async def _extends(self, latest: StoredCheckpoint | None, head: TreeHead) -> bool:
        try:
            if await self._proofs.root_at(head.size) != head.root:
                log.error("stored tree nodes disagree with the compact range at %d", head.size)
                return False
            if latest is None or latest.checkpoint.size == 0:
                return True
            old = latest.checkpoint
            proof = await self._proofs.consistency_proof(old.size, head.size)
        except JournalCorruptError:
            log.exception("cannot prove the tree extends the last checkpoint")
            return False
        if not merkle.verify_consistency(old.size, head.size, old.root, head.root, proof):
            log.error("tree of %d is NOT consistent with checkpoint %d", head.size, old.size)
            return False
        return True

    async def receipt(
        self, index: int, note: Callable[[StoredCheckpoint], Awaitable[str]] | None = None
    ) -> Receipt | None:
        """The tlog-proof of entry `index` under the latest checkpoint, its note as `note`
        serves it (with the witnesses' cosignatures) or as the log signed it; None if no
        checkpoint covers it yet."""
        latest = await self.latest()
        entry = await self.ctx.entries.get(index)
        if latest is None or entry is None or index >= latest.checkpoint.size:
            return None
        proof = await self._proofs.inclusion_proof(index, latest.checkpoint.size)
        served = await note(latest) if note is not None else latest.note
        return Receipt(index, tuple(proof.path), served, extra=leaf_data(entry))
