"""Where delivery keeps its documents at rest: acts (and judge's leaves) under `acts/`, the
recipients' replies under `replies/`, each with its wrapped DEKs in its own collection, all
through the kernel's `EncryptedObjects` (DESIGN §6, R-encrypt)."""

from __future__ import annotations

from typing import Final

from shared.clock import Clock
from shared.crypto import KeyRing
from shared.store.port import DocumentStore
from shared.vault import EncryptedObjects, ObjectPort

ACT_KEYS: Final = "act_keys"
REPLY_KEYS: Final = "reply_keys"
ACTS_PREFIX: Final = "acts"
REPLIES_PREFIX: Final = "replies"


def object_key(object_id: str) -> str:
    """The S3 key of an act's (or a judge's leave's) ciphertext."""
    return f"{ACTS_PREFIX}/{object_id}"


def act_vault(
    objects: ObjectPort, keys: KeyRing, store: DocumentStore, clock: Clock
) -> EncryptedObjects:
    return EncryptedObjects(
        objects, keys, store, clock, prefix=ACTS_PREFIX, keys_collection=ACT_KEYS
    )


def reply_vault(
    objects: ObjectPort, keys: KeyRing, store: DocumentStore, clock: Clock
) -> EncryptedObjects:
    return EncryptedObjects(
        objects, keys, store, clock, prefix=REPLIES_PREFIX, keys_collection=REPLY_KEYS
    )
