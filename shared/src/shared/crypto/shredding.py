"""Crypto-shredding: destroy an object's wrapped DEK, then the object (DESIGN §6).

Once the only wrapped copy of a DEK is gone, every copy of the ciphertext (an old S3 version, a
backup) is unreadable: the KEK alone cannot recover a DEK that was never derived from it. The
helper runs both steps in that order and hands each to a journal, so the owning service records
the shred in its outbox (and from there in the audit journal) without this kernel knowing how.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shared.clock import Clock
from shared.crypto.keyring import WrappedDek

logger = logging.getLogger(__name__)


class WrappedKeyStore(Protocol):
    """Where the owning service keeps its wrapped DEKs (its own database)."""

    async def destroy_wrapped_key(self, object_id: str) -> WrappedDek | None:
        """Delete and return the wrapped DEK of `object_id`; None if it was already gone."""
        ...


class ObjectDeleter(Protocol):
    """Removes the ciphertext object (S3 or equivalent)."""

    async def delete_object(self, object_id: str) -> None:
        """Delete the object; deleting an absent object is not an error."""
        ...


class ShredStepKind(StrEnum):
    KEY_DESTROYED = "key_destroyed"
    KEY_ALREADY_ABSENT = "key_already_absent"
    OBJECT_DELETED = "object_deleted"


@dataclass(frozen=True)
class ShredStep:
    """One journaled step. `wrapped_key_sha256` fingerprints the destroyed wrapped DEK, so the
    journal proves which key was destroyed without keeping anything that could unlock it."""

    kind: ShredStepKind
    object_id: str
    at: datetime
    dek_id: str | None = None
    kek_id: str | None = None
    kek_version: int | None = None
    wrapped_key_sha256: str | None = None


class ShredJournal(Protocol):
    """Receives each step as it happens (typically: writes an event to the service's outbox)."""

    async def record(self, step: ShredStep) -> None: ...


async def crypto_shred(
    object_id: str,
    *,
    keys: WrappedKeyStore,
    objects: ObjectDeleter,
    journal: ShredJournal,
    clock: Clock,
) -> tuple[ShredStep, ShredStep]:
    """Make `object_id` permanently unreadable: destroy its wrapped DEK, then delete the object.

    The key goes first: if the process dies between the steps, what remains is an unreadable
    ciphertext, never a readable one without a journal entry. Safe to call again after a crash
    (the key step then reports `KEY_ALREADY_ABSENT`). Returns both journaled steps.
    """
    wrapped = await keys.destroy_wrapped_key(object_id)
    if wrapped is None:
        key_step = ShredStep(ShredStepKind.KEY_ALREADY_ABSENT, object_id, clock.now())
    else:
        key_step = ShredStep(
            ShredStepKind.KEY_DESTROYED,
            object_id,
            clock.now(),
            dek_id=wrapped.dek_id.hex(),
            kek_id=wrapped.kek_id,
            kek_version=wrapped.kek_version,
            wrapped_key_sha256=hashlib.sha256(wrapped.to_bytes()).hexdigest(),
        )
    await journal.record(key_step)
    await objects.delete_object(object_id)
    object_step = ShredStep(ShredStepKind.OBJECT_DELETED, object_id, clock.now())
    await journal.record(object_step)
    logger.info("crypto-shredded object %s", object_id)
    return key_step, object_step
